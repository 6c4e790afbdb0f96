// Panel 5, discovery log: who first discovered what and when, and how each item spread.
import { Legend, LineChart } from "../charts/LineChart.js";
import { EventType } from "../gen/emergence/v1/event_pb.js";
import { shortId, toNumber } from "../model/labels.js";
import { knowledgeSpread } from "../model/series.js";
import { eventsUpToShown, type DashboardContext } from "./context.js";
import { Panel } from "./Panel.js";

export function Discoveries({ context }: { context: DashboardContext }) {
  const events = eventsUpToShown(context);
  const firsts = new Map<string, { who: string; tick: number }>();
  for (const event of [...events].reverse()) {
    if (event.type !== EventType.KNOWLEDGE_DISCOVERED || event.details.case !== "knowledge") continue;
    const item = event.details.value.knowledge;
    if (!firsts.has(item)) firsts.set(item, { who: context.names.get(event.agentId) ?? shortId(event.agentId), tick: toNumber(event.tick) });
  }
  const spread = knowledgeSpread(
    events.filter((event) => event.type === EventType.KNOWLEDGE_DISCOVERED || event.type === EventType.KNOWLEDGE_TAUGHT),
    context.shownTick,
  );
  const top = [...spread].sort((a, b) => (b.points[b.points.length - 1]?.value ?? 0) - (a.points[a.points.length - 1]?.value ?? 0)).slice(0, 6);
  return (
    <Panel id="discoveries" title="Discoveries">
      {firsts.size === 0 ? <div className="empty">Nothing discovered yet.</div> : null}
      <ul className="facts">
        {[...firsts.entries()]
          .sort((a, b) => b[1].tick - a[1].tick)
          .slice(0, 12)
          .map(([item, first]) => (
            <li key={item}>
              {first.who} discovered <b>{item}</b> at tick {first.tick}
            </li>
          ))}
      </ul>
      <h3>How many know each item</h3>
      <LineChart series={top} width={400} height={110} label="knowledge spread" markerTick={context.viewTick} />
      <Legend names={top.map((entry) => entry.name)} />
    </Panel>
  );
}
