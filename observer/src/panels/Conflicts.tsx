// Panel 8, conflict monitor: thefts, fights, wars, treaties and alliances with their outcomes.
import { Bars } from "../charts/Bars.js";
import { EventType } from "../gen/emergence/v1/event_pb.js";
import { enumLabel, toNumber } from "../model/labels.js";
import { CONFLICT_TYPES, describeEvent } from "../model/timeline.js";
import { eventsUpToShown, type DashboardContext } from "./context.js";
import { Panel } from "./Panel.js";

export function Conflicts({ context }: { context: DashboardContext }) {
  const conflicts = eventsUpToShown(context).filter((event) => CONFLICT_TYPES.has(event.type));
  const counts = new Map<EventType, number>();
  for (const event of conflicts) counts.set(event.type, (counts.get(event.type) ?? 0) + 1);
  return (
    <Panel id="conflicts" title="Conflicts and diplomacy">
      <Bars bars={[...counts.entries()].sort((a, b) => a[0] - b[0]).map(([type, value]) => ({ label: enumLabel(EventType, type), value, colour: type === EventType.TREATY_NEGOTIATED || type === EventType.ALLIANCE_FORMED ? "#1e8449" : "#a93226" }))} width={330} label="conflicts by kind" />
      {conflicts.length === 0 ? <div className="empty">Peaceful so far: no thefts, fights or wars.</div> : null}
      <ol className="events compact">
        {conflicts.slice(0, 12).map((event) => (
          <li key={`${event.tick}:${event.sequence}`}>
            <span className="tick">{toNumber(event.tick)}</span>
            <span className="text">{describeEvent(event, context.names)}</span>
          </li>
        ))}
      </ol>
    </Panel>
  );
}
