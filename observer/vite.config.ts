// Vite builds the dashboard into dist/ (served by the Envoy gateway); Vitest runs the view-model tests.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [react()],
  // Relative asset paths: the gateway serves the files at its root, a file server anywhere.
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 2048 },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
