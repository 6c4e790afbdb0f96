// The world and its agents as the map and panels show them: live (GetWorld + ListAgents) or at a past tick
// (GetStateAtTick, rebuilt by the server from a snapshot plus replay).
import { useEffect, useRef, useState } from "react";
import type { Clients } from "../api/clients.js";
import { describeError } from "../api/clients.js";
import type { Agent } from "../gen/emergence/v1/agent_pb.js";
import type { WorldView } from "../gen/emergence/v1/world_pb.js";

export interface WorldViewState {
  world: WorldView | null;
  agents: Agent[];
  /** the tick the shown world is at (null until one arrived) */
  shownTick: number | null;
  loading: boolean;
  error: string;
}

const LIVE_REFRESH_MS = 500;

/**
 * `viewTick` null follows the live tick (at most one request in flight, at most one per half second);
 * a number asks for that moment once.
 */
export function useWorldView(clients: Clients, runId: string, viewTick: number | null, liveTick: number): WorldViewState {
  const [state, setState] = useState<WorldViewState>({ world: null, agents: [], shownTick: null, loading: true, error: "" });
  const lastFetchMs = useRef(0);
  const inFlight = useRef(false);
  const [wake, setWake] = useState(0);
  // What is asked for now: a live answer that arrives after the user went back in time is dropped.
  const wanted = useRef({ runId, viewTick, liveTick });
  wanted.current = { runId, viewTick, liveTick };

  useEffect(() => {
    setState({ world: null, agents: [], shownTick: null, loading: true, error: "" });
  }, [runId]);

  useEffect(() => {
    if (!runId) return;
    let active = true;
    if (viewTick !== null) {
      setState((current) => ({ ...current, loading: true }));
      clients.observer
        .getStateAtTick({ runId, tick: BigInt(viewTick) })
        .then((response) => {
          if (!active) return;
          setState({ world: response.world ?? null, agents: response.agents, shownTick: viewTick, loading: false, error: "" });
        })
        .catch((failure: unknown) => {
          if (active) setState((current) => ({ ...current, loading: false, error: describeError(failure, clients.gatewayUrl) }));
        });
      return () => {
        active = false;
      };
    }
    if (inFlight.current) return;
    const waitMs = lastFetchMs.current + LIVE_REFRESH_MS - Date.now();
    if (waitMs > 0) {
      const timer = window.setTimeout(() => setWake((value) => value + 1), waitMs);
      return () => window.clearTimeout(timer);
    }
    inFlight.current = true;
    lastFetchMs.current = Date.now();
    const stillWanted = (): boolean => wanted.current.runId === runId && wanted.current.viewTick === null;
    Promise.all([clients.observer.getWorld({ runId }), clients.observer.listAgents({ runId, includeDead: true })])
      .then(([worldResponse, agentsResponse]) => {
        if (!stillWanted()) return;
        const world = worldResponse.world ?? null;
        setState({ world, agents: agentsResponse.agents, shownTick: world?.clock ? Number(world.clock.tick) : liveTick, loading: false, error: "" });
      })
      .catch((failure: unknown) => {
        if (stillWanted()) setState((current) => ({ ...current, loading: false, error: describeError(failure, clients.gatewayUrl) }));
      })
      .finally(() => {
        inFlight.current = false;
        // Whatever was asked meanwhile (new ticks, another run) was skipped: look again.
        const asked = wanted.current;
        if (asked.runId !== runId || (asked.viewTick === null && asked.liveTick !== liveTick)) setWake((value) => value + 1);
      });
    return undefined;
  }, [clients, runId, viewTick, liveTick, wake]);

  return state;
}
