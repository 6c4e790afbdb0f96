// A run's stored list (alerts, constructs, ...) read once and again every few shown ticks.
import type { DashboardContext } from "../panels/context.js";
import { type Loaded, useLoad } from "./useLoad.js";

/** `load` asks the gateway for the run's list; a reply for a run no longer shown is dropped. */
export function useRunQuery<T>(
  context: DashboardContext,
  load: (runId: string) => Promise<T>,
  refreshTicks: number,
): Loaded<T> {
  const { clients, runId, shownTick } = context;
  // Re-read as time passes (live or travelled), not on every tick.
  const refreshKey = Math.floor(shownTick / refreshTicks);
  return useLoad(clients.gatewayUrl, runId ? () => load(runId) : null, [clients, runId, refreshKey]);
}
