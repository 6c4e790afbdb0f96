// Panel 9, era tracker: the current era and the milestones that moved the world from one to the next.
import { Era } from "../gen/emergence/v1/common_pb.js";
import { EventType } from "../gen/emergence/v1/event_pb.js";
import { enumLabel, toNumber } from "../model/labels.js";
import { eventsUpToShown, summaryAtShown, type DashboardContext } from "./context.js";
import { Panel } from "./Panel.js";

const ERAS = Object.values(Era).filter((value): value is Era => typeof value === "number" && value !== Era.UNSPECIFIED);

export function Eras({ context }: { context: DashboardContext }) {
  const current = summaryAtShown(context)?.era ?? context.world?.era ?? Era.UNSPECIFIED;
  const changes = eventsUpToShown(context).filter((event) => event.type === EventType.ERA_CHANGED);
  return (
    <Panel id="eras" title={`Era · ${current ? enumLabel(Era, current) : "unknown"}`}>
      <ol className="eras" aria-label="eras">
        {ERAS.map((era) => (
          <li key={era} className={era === current ? "current" : era < current ? "past" : "future"}>
            {enumLabel(Era, era)}
          </li>
        ))}
      </ol>
      {changes.length === 0 ? <div className="empty">No era change yet: milestones appear here when they happen.</div> : null}
      <ul className="facts">
        {changes.map((event) => (
          <li key={`${event.tick}:${event.sequence}`}>
            tick {toNumber(event.tick)}:{" "}
            {event.details.case === "era" ? `${enumLabel(Era, event.details.value.current)}${event.details.value.milestone ? ` – ${event.details.value.milestone}` : ""}` : "era changed"}
          </li>
        ))}
      </ul>
    </Panel>
  );
}
