// Panel 7, population: alive, births and deaths over time, the age pyramid, causes of death, lineage.
import { Bars } from "../charts/Bars.js";
import { Legend, LineChart } from "../charts/LineChart.js";
import { DeathCause, Sex } from "../gen/emergence/v1/common_pb.js";
import { EventType } from "../gen/emergence/v1/event_pb.js";
import { enumLabel, toNumber } from "../model/labels.js";
import { cumulative, summarySeries } from "../model/series.js";
import { eventsUpToShown, summaryAtShown, type DashboardContext } from "./context.js";
import { Panel } from "./Panel.js";

const AGE_BUCKET = 100;

export function Population({ context }: { context: DashboardContext }) {
  const series = [
    { name: "alive", points: summarySeries(context.summaries, "alive") },
    { name: "births (total)", points: cumulative(summarySeries(context.summaries, "births")) },
    { name: "deaths (total)", points: cumulative(summarySeries(context.summaries, "deaths")) },
  ];
  const living = context.agents.filter((agent) => agent.alive);
  const buckets = new Map<number, { female: number; male: number }>();
  for (const agent of living) {
    const bucket = Math.floor(toNumber(agent.vitals?.age ?? 0n) / AGE_BUCKET);
    const entry = buckets.get(bucket) ?? { female: 0, male: 0 };
    if (agent.sex === Sex.FEMALE) entry.female += 1;
    else entry.male += 1;
    buckets.set(bucket, entry);
  }
  const pyramid = [...buckets.entries()].sort((a, b) => b[0] - a[0]);
  const widest = Math.max(1, ...pyramid.map(([, entry]) => Math.max(entry.female, entry.male)));
  const causes = new Map<string, number>();
  for (const event of eventsUpToShown(context)) {
    if (event.type === EventType.AGENT_DIED && event.details.case === "agentDied") {
      const cause = enumLabel(DeathCause, event.details.value.cause);
      causes.set(cause, (causes.get(cause) ?? 0) + 1);
    }
  }
  const generations = new Map<number, number>();
  for (const agent of context.agents) generations.set(agent.generation, (generations.get(agent.generation) ?? 0) + 1);
  return (
    <Panel id="population" title={`Population · ${living.length > 0 ? living.length : (summaryAtShown(context)?.alive ?? 0)} alive`}>
      <LineChart series={series} width={400} height={110} label="population over time" markerTick={context.viewTick} />
      <Legend names={series.map((entry) => entry.name)} />
      <div className="row">
        <div>
          <h3>Age pyramid (♀ | ♂, per {AGE_BUCKET} ticks)</h3>
          {pyramid.length === 0 ? <div className="empty">Nobody alive.</div> : null}
          <div className="pyramid" role="img" aria-label="age pyramid">
            {pyramid.map(([bucket, entry]) => (
              <div key={bucket} className="pyramid-row">
                <span className="bar-left" style={{ width: `${(entry.female / widest) * 70}px` }} title={`${entry.female} female`} />
                <span className="age">{bucket * AGE_BUCKET}+</span>
                <span className="bar-right" style={{ width: `${(entry.male / widest) * 70}px` }} title={`${entry.male} male`} />
              </div>
            ))}
          </div>
        </div>
        <div>
          <h3>Causes of death</h3>
          <Bars bars={[...causes.entries()].map(([label, value]) => ({ label, value, colour: "#a93226" }))} width={200} label="causes of death" />
          <h3>Lineage (agents per generation)</h3>
          <Bars bars={[...generations.entries()].sort((a, b) => a[0] - b[0]).map(([generation, value]) => ({ label: `gen ${generation}`, value }))} width={200} label="generations" />
        </div>
      </div>
    </Panel>
  );
}
