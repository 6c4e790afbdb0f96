// What every panel is given: the clients, the run, the live data and the moment being shown.
import type { Clients } from "../api/clients.js";
import type { Agent } from "../gen/emergence/v1/agent_pb.js";
import type { Event } from "../gen/emergence/v1/event_pb.js";
import type { Run, TickSummary } from "../gen/emergence/v1/run_pb.js";
import type { WorldView } from "../gen/emergence/v1/world_pb.js";
import { toNumber } from "../model/labels.js";

export interface DashboardContext {
  clients: Clients;
  runId: string;
  run: Run | null;
  summaries: readonly TickSummary[];
  /** notable events since tick 0, newest first */
  notable: readonly Event[];
  /** null while following the run live; a tick while travelling back in time */
  viewTick: number | null;
  /** the tick the panels show: the chosen one, or the latest */
  shownTick: number;
  world: WorldView | null;
  agents: readonly Agent[];
  worldError: string;
  worldLoading: boolean;
  names: ReadonlyMap<string, string>;
  regionOfLocation: ReadonlyMap<string, string>;
  selectedAgentId: string;
  selectAgent: (agentId: string) => void;
  reloadRun: () => void;
}

/** The notable events up to the shown moment (all of them while live). */
export function eventsUpToShown(context: DashboardContext): readonly Event[] {
  if (context.viewTick === null) return context.notable;
  const limit = context.viewTick;
  return context.notable.filter((event) => toNumber(event.tick) <= limit);
}

/** The last summary at or before the shown moment. */
export function summaryAtShown(context: DashboardContext): TickSummary | undefined {
  for (let index = context.summaries.length - 1; index >= 0; index -= 1) {
    const summary = context.summaries[index]!;
    if (toNumber(summary.tick) <= context.shownTick) return summary;
  }
  return undefined;
}
