// Panel 2, timeline: the event history with filters (type, agent, region, tick range) and a live tail.
import { useEffect, useMemo, useState } from "react";
import { EventType, type Event } from "../gen/emergence/v1/event_pb.js";
import { enumLabel, toNumber } from "../model/labels.js";
import { describeEvent, filterEvents, NO_FILTER } from "../model/timeline.js";
import { useLoad } from "../state/useLoad.js";
import type { DashboardContext } from "./context.js";
import { Panel } from "./Panel.js";

const PAGE_SIZE = 200;
const WINDOW_TICKS = 10;
const FILTERED_WINDOW_TICKS = 300;
const MAX_PAGES = 5;
const TAIL_REFRESH_MS = 1000;
const EVENT_TYPES = Object.values(EventType).filter((value): value is EventType => typeof value === "number" && value !== EventType.UNSPECIFIED);

function parseTick(text: string): number | null {
  const trimmed = text.trim();
  return /^\d{1,12}$/.test(trimmed) ? Number(trimmed) : null;
}

export function Timeline({ context }: { context: DashboardContext }) {
  const [type, setType] = useState<EventType | 0>(0);
  const [region, setRegion] = useState("");
  const [agentId, setAgentId] = useState("");
  const [fromText, setFromText] = useState("");
  const [toText, setToText] = useState("");
  const [refresh, setRefresh] = useState(0);
  const fromTick = parseTick(fromText);
  const toTick = parseTick(toText);
  const badRange = (fromText.trim() !== "" && fromTick === null) || (toText.trim() !== "" && toTick === null) || (fromTick !== null && toTick !== null && fromTick > toTick);
  const live = context.viewTick === null && toTick === null;
  const { clients, runId, shownTick } = context;

  const upper = toTick ?? shownTick;
  // A filter thins the history, so a filtered view looks further back than the unfiltered tail.
  const filtered = type !== 0 || region !== "" || agentId !== "";
  const lower = fromTick ?? Math.max(0, upper - (filtered ? FILTERED_WINDOW_TICKS : WINDOW_TICKS));
  const load = async (): Promise<Event[]> => {
    const collected: Event[] = [];
    let pageToken = "";
    // Pages come oldest first; follow a few so the newest of the window are in.
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const response = await clients.observer.queryEvents({
        runId,
        fromTick: BigInt(lower),
        toTick: BigInt(upper),
        types: type ? [type] : [],
        agentId,
        region,
        pageSize: PAGE_SIZE * 5,
        pageToken,
      });
      collected.push(...response.events);
      pageToken = response.nextPageToken;
      if (!pageToken) break;
    }
    return collected;
  };
  // A live tail asks again each second; a fixed range only when the filter changes.
  const loaded = useLoad(clients.gatewayUrl, runId && !badRange ? load : null, [clients, runId, type, region, agentId, fromTick, toTick, badRange, live ? refresh : shownTick]);
  const events = useMemo(() => loaded.value ?? [], [loaded.value]);
  const { error, loading } = loaded;

  useEffect(() => {
    if (!live) return;
    const timer = window.setInterval(() => setRefresh((value) => value + 1), TAIL_REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [live]);

  // The server filters too; filtering here again keeps the list right if a server ignores a filter.
  const shown = useMemo(() => {
    const filtered = filterEvents(events, { ...NO_FILTER, types: type ? new Set([type]) : new Set(), agentId, region, fromTick, toTick }, context.regionOfLocation);
    return filtered.sort((a, b) => toNumber(b.tick) - toNumber(a.tick) || b.sequence - a.sequence).slice(0, PAGE_SIZE);
  }, [events, type, agentId, region, fromTick, toTick, context.regionOfLocation]);

  const regions = [...new Set(context.regionOfLocation.values())].sort();
  const agents = [...context.names.entries()].sort((a, b) => a[1].localeCompare(b[1]));
  return (
    <Panel id="timeline" title="Timeline" error={badRange ? "Tick range: give whole ticks, from ≤ to." : error} loading={loading && events.length === 0}>
      <div className="filters">
        <select aria-label="event type" value={type} onChange={(event) => setType(Number(event.target.value) as EventType)}>
          <option value={0}>all types</option>
          {EVENT_TYPES.map((value) => (
            <option key={value} value={value}>
              {enumLabel(EventType, value)}
            </option>
          ))}
        </select>
        <select aria-label="region" value={region} onChange={(event) => setRegion(event.target.value)}>
          <option value="">all regions</option>
          {regions.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
        <select aria-label="agent" value={agentId} onChange={(event) => setAgentId(event.target.value)}>
          <option value="">all agents</option>
          {agents.map(([id, name]) => (
            <option key={id} value={id}>
              {name}
            </option>
          ))}
        </select>
        <input aria-label="from tick" placeholder="from tick" value={fromText} onChange={(event) => setFromText(event.target.value)} size={7} />
        <input aria-label="to tick" placeholder="to tick" value={toText} onChange={(event) => setToText(event.target.value)} size={7} />
        <span className="badge muted">{live ? "live tail" : `to tick ${toTick ?? shownTick}`}</span>
      </div>
      {shown.length === 0 && !loading ? <div className="empty">No events match.</div> : null}
      <ol className="events" aria-label="events">
        {shown.map((event) => (
          <li key={`${event.tick}:${event.sequence}`} data-event-type={EventType[event.type]} data-region={context.regionOfLocation.get(event.locationId) ?? ""}>
            <span className="tick">{toNumber(event.tick)}</span>
            <span className="type">{enumLabel(EventType, event.type)}</span>
            <span className="text">
              {event.agentId ? (
                <button className="link" onClick={() => context.selectAgent(event.agentId)}>
                  {describeEvent(event, context.names)}
                </button>
              ) : (
                describeEvent(event, context.names)
              )}
            </span>
          </li>
        ))}
      </ol>
    </Panel>
  );
}
