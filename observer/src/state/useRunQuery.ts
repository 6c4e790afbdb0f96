// A run's stored list (alerts, constructs, ...) read once and again every few shown ticks.
import { useEffect, useState } from "react";
import { describeError } from "../api/clients.js";
import type { DashboardContext } from "../panels/context.js";

export interface RunQuery<T> {
  value: T | null;
  error: string;
}

/** `load` asks the gateway for the run's list; a reply for a run no longer shown is dropped. */
export function useRunQuery<T>(
  context: DashboardContext,
  load: (runId: string) => Promise<T>,
  refreshTicks: number,
): RunQuery<T> {
  const { clients, runId, shownTick } = context;
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState("");
  // Re-read as time passes (live or travelled), not on every tick.
  const refreshKey = Math.floor(shownTick / refreshTicks);
  useEffect(() => {
    if (!runId) return;
    let active = true;
    load(runId)
      .then((loaded) => {
        if (active) {
          setValue(loaded);
          setError("");
        }
      })
      .catch((failure: unknown) => {
        if (active) setError(describeError(failure, clients.gatewayUrl));
      });
    return () => {
      active = false;
    };
    // `load` is a new closure each render; the run, the clients and the refresh step decide.
  }, [clients, runId, refreshKey]);
  return { value, error };
}
