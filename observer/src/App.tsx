// The dashboard: run picker, time travel and the twelve panels of one run.
import { useEffect, useMemo, useRef, useState } from "react";
import type { Clients } from "./api/clients.js";
import { RunStatus } from "./gen/emergence/v1/run_pb.js";
import { enumLabel, shortId, toNumber } from "./model/labels.js";
import { AgentInspector } from "./panels/AgentInspector.js";
import { Alerts } from "./panels/Alerts.js";
import { Conflicts } from "./panels/Conflicts.js";
import { Constructs } from "./panels/Constructs.js";
import type { DashboardContext } from "./panels/context.js";
import { Discoveries } from "./panels/Discoveries.js";
import { Economy } from "./panels/Economy.js";
import { Eras } from "./panels/Eras.js";
import { Operator } from "./panels/Operator.js";
import { Population } from "./panels/Population.js";
import { SocialNetwork } from "./panels/SocialNetwork.js";
import { Timeline } from "./panels/Timeline.js";
import { WorldMap } from "./panels/WorldMap.js";
import { useLiveRun } from "./state/useLiveRun.js";
import { defaultRunId, useRuns } from "./state/useRuns.js";
import { useWorldView } from "./state/useWorldView.js";

function urlParameter(name: string): string {
  return new URLSearchParams(window.location.search).get(name) ?? "";
}

function setUrlParameter(name: string, value: string): void {
  const url = new URL(window.location.href);
  if (value) url.searchParams.set(name, value);
  else url.searchParams.delete(name);
  window.history.replaceState(null, "", url);
}

export function App({ clients }: { clients: Clients }) {
  const runs = useRuns(clients);
  const [chosenRunId, setChosenRunId] = useState(() => urlParameter("run"));
  const runId = chosenRunId || defaultRunId(runs.runs);
  const live = useLiveRun(
    clients,
    runId,
    runs.runs.find((run) => run.id === runId),
  );
  const [viewTick, setViewTick] = useState<number | null>(() => (/^\d+$/.test(urlParameter("tick")) ? Number(urlParameter("tick")) : null));
  const [sliderTick, setSliderTick] = useState<number | null>(null);
  const [selectedAgentId, setSelectedAgentId] = useState(() => urlParameter("agent"));
  const shownTick = viewTick ?? live.latestTick;
  const view = useWorldView(clients, runId, viewTick, live.latestTick);

  useEffect(() => setUrlParameter("run", chosenRunId), [chosenRunId]);
  useEffect(() => setUrlParameter("tick", viewTick === null ? "" : String(viewTick)), [viewTick]);
  useEffect(() => setUrlParameter("agent", selectedAgentId), [selectedAgentId]);
  // Dragging the slider asks for the moment only once the hand rests.
  // (the latest tick is read through a ref: new ticks arriving must not restart the wait)
  const latestTick = useRef(live.latestTick);
  latestTick.current = live.latestTick;
  useEffect(() => {
    if (sliderTick === null) return;
    const timer = window.setTimeout(() => setViewTick(sliderTick >= latestTick.current ? null : sliderTick), 250);
    return () => window.clearTimeout(timer);
  }, [sliderTick]);

  // Names from the agents list, and from birth records for agents it does not (or cannot yet) list.
  const names = useMemo(() => {
    const known = new Map<string, string>();
    for (const event of live.notable) {
      if (event.details.case === "agentBorn" && event.agentId && event.details.value.name) known.set(event.agentId, event.details.value.name);
    }
    for (const agent of view.agents) known.set(agent.id, agent.name);
    return known;
  }, [view.agents, live.notable]);
  const regionOfLocation = useMemo(() => new Map((view.world?.locations ?? []).map((location) => [location.id, location.region])), [view.world]);
  const context: DashboardContext = {
    clients,
    runId,
    run: live.run,
    summaries: live.summaries,
    notable: live.notable,
    viewTick,
    shownTick,
    world: view.world,
    agents: view.agents,
    worldError: view.error,
    worldLoading: view.loading,
    names,
    regionOfLocation,
    selectedAgentId,
    selectAgent: setSelectedAgentId,
    reloadRun: live.reloadRun,
  };
  const status = live.run?.status;
  const banner = runs.error || live.runError || live.streamError;
  return (
    <div className="app">
      <header className="top">
        <h1>Emergence</h1>
        <label>
          Run{" "}
          <select
            aria-label="run"
            value={runId}
            onChange={(event) => {
              setChosenRunId(event.target.value);
              setViewTick(null);
              setSliderTick(null);
              setSelectedAgentId("");
            }}
          >
            {runId && !runs.runs.some((run) => run.id === runId) ? <option value={runId}>{shortId(runId)} (not listed)</option> : null}
            {[...runs.runs]
              .sort((a, b) => b.id.localeCompare(a.id))
              .map((run) => (
                <option key={run.id} value={run.id}>
                  {`${run.config?.name || shortId(run.id)} · ${enumLabel(RunStatus, run.status).toLowerCase()} · tick ${toNumber(run.currentTick)}`}
                </option>
              ))}
          </select>
        </label>
        <span className={`badge status-${status === undefined ? "unknown" : RunStatus[status]?.toLowerCase()}`} data-testid="run-status">
          {status === undefined ? (runs.loading ? "connecting…" : "no run") : enumLabel(RunStatus, status)}
        </span>
        <span className="tick-now" data-testid="live-tick">
          tick {live.latestTick}
        </span>
        <div className="travel">
          <input
            type="range"
            aria-label="time travel"
            min={0}
            max={Math.max(1, live.latestTick)}
            value={sliderTick ?? shownTick}
            onChange={(event) => setSliderTick(Number(event.target.value))}
          />
          <span data-testid="view-tick">{viewTick === null ? "live" : `at tick ${viewTick}`}</span>
          <button
            onClick={() => {
              setViewTick(null);
              setSliderTick(null);
            }}
            disabled={viewTick === null}
          >
            Live
          </button>
        </div>
      </header>
      {banner ? (
        <div className="banner" role="alert" data-testid="banner">
          {banner}
        </div>
      ) : null}
      {status === RunStatus.PAUSED ? <div className="banner info">The engine is paused: panels show the last committed tick until it resumes.</div> : null}
      {!runs.loading && runs.runs.length === 0 && !runs.error ? <div className="banner info">No runs in the store yet. Start one with 'emergence up' or 'emergence run --dashboard'.</div> : null}
      {runId ? (
        <main className="grid" key={runId}>
          <WorldMap context={context} />
          <AgentInspector context={context} />
          <Timeline context={context} />
          <Alerts context={context} />
          <Operator context={context} />
          <Economy context={context} />
          <Population context={context} />
          <SocialNetwork context={context} />
          <Discoveries context={context} />
          <Conflicts context={context} />
          <Constructs context={context} />
          <Eras context={context} />
        </main>
      ) : null}
    </div>
  );
}
