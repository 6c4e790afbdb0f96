// One run followed live: its record, every tick summary (StreamTicks) and its notable events (StreamEvents).
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { useEffect, useState } from "react";
import type { Clients } from "../api/clients.js";
import { describeError, isCancel } from "../api/clients.js";
import type { Event } from "../gen/emergence/v1/event_pb.js";
import type { Run, TickSummary } from "../gen/emergence/v1/run_pb.js";
import { toNumber } from "../model/labels.js";
import { mergeNewestFirst, NOTABLE_TYPES } from "../model/timeline.js";

export interface LiveRun {
  run: Run | null;
  runError: string;
  summaries: TickSummary[];
  notable: Event[];
  streamError: string;
  latestTick: number;
  /** The run's record changed (pause, resume): read it again now instead of at the next poll. */
  reloadRun: () => void;
}

const FLUSH_MS = 200;
const RETRY_MS = 2000;
const RUN_POLL_MS = 2000;
const MAX_NOTABLE = 20000;

/** Live receive latencies (commit → browser) for the benchmark; read by `bench/live` through the page. */
interface LatencySample {
  tick: number;
  latencyMs: number;
}
declare global {
  interface Window {
    emergenceTickLatencies?: LatencySample[];
  }
}

function isNotFound(message: string): boolean {
  return message.startsWith("Not found");
}

function recordLatency(summary: TickSummary, openedAtMs: number): void {
  if (summary.committedAt === undefined) return;
  const committedMs = timestampMs(summary.committedAt);
  if (committedMs < openedAtMs) return; // catch-up from the store, not a live delivery
  const samples = (window.emergenceTickLatencies ??= []);
  if (samples.length < 100000) samples.push({ tick: toNumber(summary.tick), latencyMs: Date.now() - committedMs });
}

/** Runs `follow` until it ends or fails; retries after a pause on failure until the effect is torn down. */
function keepFollowing(signal: AbortSignal, follow: () => Promise<void>, onError: (failure: unknown) => void): void {
  const loop = async (): Promise<void> => {
    while (!signal.aborted) {
      try {
        await follow();
        return; // the server ended the stream: the run is over and everything was sent
      } catch (failure) {
        if (signal.aborted || isCancel(failure)) return;
        onError(failure);
        await new Promise((resolve) => window.setTimeout(resolve, RETRY_MS));
      }
    }
  };
  void loop();
}

/**
 * `listed` is the run as the run list has it: a gateway whose GetRun knows only the run its engine
 * serves (NOT_FOUND for stored ones) still shows a finished run's record from the list.
 */
export function useLiveRun(clients: Clients, runId: string, listed: Run | undefined): LiveRun {
  const [run, setRun] = useState<Run | null>(null);
  const [runError, setRunError] = useState("");
  const [summaries, setSummaries] = useState<TickSummary[]>([]);
  const [notable, setNotable] = useState<Event[]>([]);
  const [streamError, setStreamError] = useState("");
  const [runGeneration, setRunGeneration] = useState(0);

  useEffect(() => {
    setRun(null);
    setRunError("");
    if (!runId) return;
    let active = true;
    const load = async (): Promise<void> => {
      try {
        const response = await clients.experiments.getRun({ runId });
        if (active) {
          setRun(response.run ?? null);
          setRunError("");
        }
      } catch (failure) {
        if (active) {
          setRun(null);
          setRunError(describeError(failure, clients.gatewayUrl));
        }
      }
    };
    void load();
    const timer = window.setInterval(() => void load(), RUN_POLL_MS);
    return () => {
      active = false;
      window.clearInterval(timer);
    };
  }, [clients, runId, runGeneration]);

  useEffect(() => {
    setSummaries([]);
    setNotable([]);
    setStreamError("");
    if (!runId) return;
    const abort = new AbortController();
    let pendingSummaries: TickSummary[] = [];
    let pendingEvents: Event[] = [];
    let lastTick = -1;
    let lastEventKey: [number, number] = [-1, -1];
    const flush = window.setInterval(() => {
      if (pendingSummaries.length > 0) {
        const batch = pendingSummaries;
        pendingSummaries = [];
        setSummaries((current) => [...current, ...batch]);
        setStreamError("");
      }
      if (pendingEvents.length > 0) {
        const batch = pendingEvents;
        pendingEvents = [];
        setNotable((current) => mergeNewestFirst(current, batch, MAX_NOTABLE));
      }
    }, FLUSH_MS);
    const failed = (failure: unknown): void => setStreamError(describeError(failure, clients.gatewayUrl));

    keepFollowing(
      abort.signal,
      async () => {
        const openedAtMs = Date.now();
        const stream = clients.observer.streamTicks({ runId, fromTick: BigInt(Math.max(0, lastTick)) }, { signal: abort.signal });
        for await (const message of stream) {
          const summary = message.summary;
          if (summary === undefined || toNumber(summary.tick) <= lastTick) continue;
          lastTick = toNumber(summary.tick);
          recordLatency(summary, openedAtMs);
          pendingSummaries.push(summary);
        }
      },
      failed,
    );
    keepFollowing(
      abort.signal,
      async () => {
        const stream = clients.observer.streamEvents(
          { runId, fromTick: BigInt(Math.max(0, lastEventKey[0])), types: [...NOTABLE_TYPES] },
          { signal: abort.signal },
        );
        for await (const message of stream) {
          const event = message.event;
          if (event === undefined) continue;
          const key: [number, number] = [toNumber(event.tick), event.sequence];
          if (key[0] < lastEventKey[0] || (key[0] === lastEventKey[0] && key[1] <= lastEventKey[1])) continue;
          lastEventKey = key;
          pendingEvents.push(event);
        }
      },
      failed,
    );
    return () => {
      abort.abort();
      window.clearInterval(flush);
    };
  }, [clients, runId]);

  const lastSummary = summaries[summaries.length - 1];
  const latestTick = Math.max(lastSummary ? toNumber(lastSummary.tick) : 0, run ? toNumber(run.currentTick) : listed ? toNumber(listed.currentTick) : 0);
  const known = run ?? listed ?? null;
  return {
    run: known,
    runError: run === null && listed !== undefined && isNotFound(runError) ? "" : runError,
    summaries,
    notable,
    streamError,
    latestTick,
    reloadRun: () => setRunGeneration((value) => value + 1),
  };
}
