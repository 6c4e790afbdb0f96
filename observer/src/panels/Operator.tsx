// Panel 11, operator controls (token required): pause/resume, speed, inject a world event, emergency
// stop, snapshot; and the run's health: phase timings, LLM figures, the end countdown.
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { useState } from "react";
import { describeError, withToken } from "../api/clients.js";
import { Resource } from "../gen/emergence/v1/common_pb.js";
import { RunStatus, WorldEventSpecSchema } from "../gen/emergence/v1/run_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { enumLabel, toNumber } from "../model/labels.js";
import { summaryAtShown, type DashboardContext } from "./context.js";
import { Panel } from "./Panel.js";

const TOKEN_KEY = "emergence.operatorToken";
type EventKind = "plague" | "naturalDisaster" | "resourceBoom" | "resourceDepletion" | "migration" | "technologyGift" | "contact" | "internetUnlock";
const EVENT_KINDS: ReadonlyArray<[EventKind, string]> = [
  ["plague", "Plague (region)"],
  ["naturalDisaster", "Natural disaster (region)"],
  ["resourceBoom", "Resource boom (place)"],
  ["resourceDepletion", "Resource depletion (place)"],
  ["migration", "Migration (count)"],
  ["technologyGift", "Technology gift (knowledge)"],
  ["contact", "Contact (two regions)"],
  ["internetUnlock", "Internet unlock"],
];
type EventInit = NonNullable<MessageInitShape<typeof WorldEventSpecSchema>["kind"]>;
const RESOURCES = Object.values(Resource).filter((value): value is Resource => typeof value === "number" && value !== Resource.UNSPECIFIED);

interface Outcome {
  ok: boolean;
  text: string;
  /** counts the calls, so the same answer twice is still seen as a new one */
  sequence: number;
}

export function Operator({ context }: { context: DashboardContext }) {
  const [token, setToken] = useState(() => window.sessionStorage.getItem(TOKEN_KEY) ?? "");
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);
  const [speedText, setSpeedText] = useState("");
  const [kind, setKind] = useState<EventKind>("plague");
  const [region, setRegion] = useState("");
  const [secondRegion, setSecondRegion] = useState("");
  const [locationId, setLocationId] = useState("");
  const [ticksText, setTicksText] = useState("20");
  const [countText, setCountText] = useState("3");
  const [knowledge, setKnowledge] = useState("");
  const [resource, setResource] = useState<Resource>(Resource.BERRY);
  const [confirmStop, setConfirmStop] = useState(false);
  const { clients, runId, run } = context;
  const regions = [...new Set(context.regionOfLocation.values())].sort();
  const locations = [...(context.world?.locations ?? [])].sort((a, b) => a.name.localeCompare(b.name));

  const saveToken = (value: string): void => {
    setToken(value);
    window.sessionStorage.setItem(TOKEN_KEY, value);
  };

  const act = async (label: string, call: () => Promise<string>): Promise<void> => {
    setBusy(true);
    try {
      const done = await call();
      setOutcome((previous) => ({ ok: true, text: `${label}: ${done}`, sequence: (previous?.sequence ?? 0) + 1 }));
      context.reloadRun();
    } catch (failure) {
      setOutcome((previous) => ({ ok: false, text: `${label} failed. ${describeError(failure, clients.gatewayUrl)}`, sequence: (previous?.sequence ?? 0) + 1 }));
    } finally {
      setBusy(false);
    }
  };

  const options = withToken(token);
  const statusText = (status: RunStatus | undefined): string => (status === undefined ? "?" : enumLabel(RunStatus, status).toLowerCase());

  const spec = (): EventInit => {
    const ticks = Number(ticksText) || 0;
    switch (kind) {
      case "plague":
        return { case: "plague", value: { region, ticks } };
      case "naturalDisaster":
        return { case: "naturalDisaster", value: { region } };
      case "resourceBoom":
        return { case: "resourceBoom", value: { locationId, ticks } };
      case "resourceDepletion":
        return { case: "resourceDepletion", value: { locationId, resource } };
      case "migration":
        return { case: "migration", value: { count: Number(countText) || 0 } };
      case "technologyGift":
        return { case: "technologyGift", value: { knowledge } };
      case "contact":
        return { case: "contact", value: { regionA: region, regionB: secondRegion } };
      case "internetUnlock":
        return { case: "internetUnlock", value: {} };
    }
  };

  const summary = summaryAtShown(context);
  const maxTicks = run?.config?.end?.maxTicks ?? 0n;
  const current = run ? toNumber(run.currentTick) : 0;
  const rate = tickRate(context);
  const left = maxTicks > 0n ? Math.max(0, toNumber(maxTicks) - current) : null;
  const ended = run?.status === RunStatus.COMPLETED || run?.status === RunStatus.FAILED;
  return (
    <Panel id="operator" title={`Operator · run ${statusText(run?.status)}`}>
      <form className="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          Operator token{" "}
          <input type="password" aria-label="operator token" value={token} placeholder="OPERATOR_API_TOKEN" onChange={(event) => saveToken(event.target.value)} size={18} autoComplete="off" />
        </label>
      </form>
      <div className="filters">
        <button disabled={busy || ended} onClick={() => void act("Pause", async () => statusText((await clients.operator.pause({ runId, reason: "paused from the dashboard" }, options)).run?.status))}>
          Pause
        </button>
        <button disabled={busy || ended} onClick={() => void act("Resume", async () => statusText((await clients.operator.resume({ runId }, options)).run?.status))}>
          Resume
        </button>
        <input aria-label="tick interval in ms" placeholder="tick interval ms" value={speedText} onChange={(event) => setSpeedText(event.target.value)} size={9} />
        <button
          disabled={busy || ended}
          onClick={() =>
            void act("Speed", async () => {
              if (!/^\d{1,7}$/.test(speedText.trim())) throw new Error("give the tick interval as whole milliseconds");
              const response = await clients.operator.setSpeed({ runId, tickIntervalMs: Number(speedText.trim()) }, options);
              return `${response.tickIntervalMs} ms per tick`;
            })
          }
        >
          Set speed
        </button>
        <button disabled={busy || ended} onClick={() => void act("Snapshot", async () => `saved at tick ${toNumber((await clients.operator.snapshot({ runId }, options)).snapshotTick)}`)}>
          Snapshot
        </button>
      </div>
      <fieldset className="filters">
        <legend>Inject a world event</legend>
        <select aria-label="world event" value={kind} onChange={(event) => setKind(event.target.value as EventKind)}>
          {EVENT_KINDS.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
        {kind === "plague" || kind === "naturalDisaster" || kind === "contact" ? (
          <select aria-label="event region" value={region} onChange={(event) => setRegion(event.target.value)}>
            <option value="">region…</option>
            {regions.map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        ) : null}
        {kind === "contact" ? (
          <select aria-label="second region" value={secondRegion} onChange={(event) => setSecondRegion(event.target.value)}>
            <option value="">second region…</option>
            {regions.map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        ) : null}
        {kind === "resourceBoom" || kind === "resourceDepletion" ? (
          <select aria-label="event place" value={locationId} onChange={(event) => setLocationId(event.target.value)}>
            <option value="">place…</option>
            {locations.map((location) => (
              <option key={location.id} value={location.id}>
                {location.name}
              </option>
            ))}
          </select>
        ) : null}
        {kind === "resourceDepletion" ? (
          <select aria-label="event resource" value={resource} onChange={(event) => setResource(Number(event.target.value) as Resource)}>
            {RESOURCES.map((value) => (
              <option key={value} value={value}>
                {enumLabel(Resource, value)}
              </option>
            ))}
          </select>
        ) : null}
        {kind === "plague" || kind === "resourceBoom" ? <input aria-label="event ticks" value={ticksText} onChange={(event) => setTicksText(event.target.value)} size={4} title="how many ticks it lasts" /> : null}
        {kind === "migration" ? <input aria-label="event count" value={countText} onChange={(event) => setCountText(event.target.value)} size={4} /> : null}
        {kind === "technologyGift" ? <input aria-label="event knowledge" value={knowledge} placeholder="knowledge" onChange={(event) => setKnowledge(event.target.value)} size={12} /> : null}
        <button
          disabled={busy || ended}
          onClick={() =>
            void act("Inject", async () => {
              const response = await clients.operator.injectEvent({ runId, event: { kind: spec() } }, options);
              return `takes effect at tick ${toNumber(response.effectiveTick)}`;
            })
          }
        >
          Inject
        </button>
      </fieldset>
      <div className="filters">
        <label>
          <input type="checkbox" checked={confirmStop} onChange={(event) => setConfirmStop(event.target.checked)} /> I mean it
        </label>
        <button
          className="danger"
          disabled={busy || ended || !confirmStop}
          onClick={() =>
            void act("Emergency stop", async () => {
              const response = await clients.operator.emergencyStop({ runId, reason: "emergency stop from the dashboard" }, options);
              setConfirmStop(false);
              return `stopped; final snapshot at tick ${toNumber(response.snapshotTick)}`;
            })
          }
        >
          Emergency stop
        </button>
      </div>
      {outcome ? (
        <p className={outcome.ok ? "status good" : "status bad"} role={outcome.ok ? "status" : "alert"} data-testid="operator-outcome" data-sequence={outcome.sequence}>
          {outcome.text}
        </p>
      ) : null}
      <h3>Health</h3>
      <table className="table">
        <tbody>
          <tr>
            <td>Phases (ms)</td>
            <td>
              {summary?.timings
                ? `wake ${summary.timings.wakeMs.toFixed(1)} · perceive ${summary.timings.perceiveMs.toFixed(1)} · decide ${summary.timings.decideMs.toFixed(1)} · resolve ${summary.timings.resolveMs.toFixed(1)} · persist ${summary.timings.persistMs.toFixed(1)}`
                : "–"}
            </td>
          </tr>
          <tr>
            <td>LLM</td>
            <td>{summary?.llm ? `${summary.llm.calls} calls · ${summary.llm.tokensIn + summary.llm.tokensOut} tokens · $${summary.llm.costUsd.toFixed(4)} · p95 ${summary.llm.p95LatencyMs.toFixed(0)} ms · ${summary.llm.fallbacks} fallbacks` : "–"}</td>
          </tr>
          <tr>
            <td>End</td>
            <td data-testid="end-countdown">
              {ended ? `ended at tick ${current}` : left === null ? "no tick limit" : `${left} ticks left${rate > 0 ? ` (about ${Math.ceil(left / rate)} s at ${rate.toFixed(1)} ticks/s)` : ""}`}
            </td>
          </tr>
          <tr>
            <td>Runners</td>
            <td>not published through the gateway (see each runner's Runner.Status)</td>
          </tr>
        </tbody>
      </table>
    </Panel>
  );
}

/** Ticks per second over the last summaries, from their commit times. */
function tickRate(context: DashboardContext): number {
  const recent = context.summaries.slice(-20).filter((summary) => summary.committedAt !== undefined);
  if (recent.length < 2) return 0;
  const first = recent[0]!;
  const last = recent[recent.length - 1]!;
  const seconds = (timestampMs(last.committedAt!) - timestampMs(first.committedAt!)) / 1000;
  return seconds > 0 ? (toNumber(last.tick) - toNumber(first.tick)) / seconds : 0;
}
