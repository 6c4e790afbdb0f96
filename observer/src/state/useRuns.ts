// The run picker's data: every run the gateway knows, refreshed while the page is open.
import { useCallback, useEffect, useState } from "react";
import type { Clients } from "../api/clients.js";
import { describeError } from "../api/clients.js";
import { RunStatus, type Run } from "../gen/emergence/v1/run_pb.js";

export interface RunsState {
  runs: Run[];
  error: string;
  loading: boolean;
  refresh: () => void;
}

const REFRESH_MS = 5000;

export function useRuns(clients: Clients): RunsState {
  const [runs, setRuns] = useState<Run[]>([]);
  const [error, setError] = useState("");
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  const refresh = useCallback(() => setGeneration((value) => value + 1), []);

  useEffect(() => {
    let active = true;
    const load = async (): Promise<void> => {
      const collected: Run[] = [];
      try {
        let pageToken = "";
        // Follow every page, bounded so a misbehaving server cannot keep the page busy forever.
        for (let page = 0; page < 50; page += 1) {
          const response = await clients.experiments.listRuns({ pageSize: 200, pageToken });
          collected.push(...response.runs);
          pageToken = response.nextPageToken;
          if (!pageToken) break;
        }
        if (!active) return;
        setRuns(collected);
        setError("");
      } catch (failure) {
        if (active) setError(describeError(failure, clients.gatewayUrl));
      } finally {
        if (active) setLoading(false);
      }
    };
    void load();
    const timer = window.setInterval(() => void load(), REFRESH_MS);
    return () => {
      active = false;
      window.clearInterval(timer);
    };
  }, [clients, generation]);

  return { runs, error, loading, refresh };
}

/** The run to open when none is asked for: a live one, else the newest (run ids are time-ordered). */
export function defaultRunId(runs: readonly Run[]): string {
  const live = runs.filter((run) => run.status === RunStatus.RUNNING || run.status === RunStatus.PAUSED);
  const pool = live.length > 0 ? live : runs;
  return [...pool].sort((a, b) => b.id.localeCompare(a.id))[0]?.id ?? "";
}
