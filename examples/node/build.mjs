// Bundles experiment.ts for Node 20 (which cannot run TypeScript itself). The generated types
// live in observer/src/gen; every @bufbuild/protobuf import, theirs and ours, resolves to this
// package's copy, so one runtime (one registry of message types) is bundled, not two.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const oneProtobufRuntime = {
  name: "one-protobuf-runtime",
  setup(builder) {
    builder.onResolve({ filter: /^@bufbuild\/protobuf(\/.*)?$/ }, (args) => ({
      path: fileURLToPath(import.meta.resolve(args.path)),
    }));
  },
};

await build({
  entryPoints: ["experiment.ts"],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outfile: "dist/experiment.mjs",
  plugins: [oneProtobufRuntime],
  logLevel: "warning",
});
