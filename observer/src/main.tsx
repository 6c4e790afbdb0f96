// Entry point: connect to the gateway that served the page and render the dashboard.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createClients, gatewayUrl } from "./api/clients.js";
import { App } from "./App.js";
import "./styles.css";

const root = document.getElementById("root");
if (root === null) throw new Error("index.html has no #root element");
createRoot(root).render(
  <StrictMode>
    <App clients={createClients(gatewayUrl(window.location))} />
  </StrictMode>,
);
