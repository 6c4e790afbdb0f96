// Panel 4, economy monitor: resource totals over time, trade volume, Gini over time, Lorenz now,
// and whether the ledger still conserves every unit.
import { Legend, LineChart } from "../charts/LineChart.js";
import { LorenzChart } from "../charts/Lorenz.js";
import { EventType } from "../gen/emergence/v1/event_pb.js";
import { gini, lorenz, wealthOf } from "../model/economy.js";
import { toNumber } from "../model/labels.js";
import { resourceSeries, summarySeries, upToTick } from "../model/series.js";
import { eventsUpToShown, summaryAtShown, type DashboardContext } from "./context.js";
import { Panel } from "./Panel.js";

export function Economy({ context }: { context: DashboardContext }) {
  const resources = resourceSeries(context.summaries, 5);
  const trades = summarySeries(context.summaries, "trades");
  const giniSeries = summarySeries(context.summaries, "gini");
  const wealth = context.agents.filter((agent) => agent.alive).map(wealthOf);
  const anomalies = eventsUpToShown(context).filter((event) => event.type === EventType.LEDGER_ANOMALY);
  const summary = summaryAtShown(context);
  const marker = context.viewTick;
  return (
    <Panel id="economy" title="Economy">
      <div className="row">
        <div>
          <h3>Resources in the world</h3>
          <LineChart series={resources} width={270} height={110} label="resource totals" markerTick={marker} />
          <Legend names={resources.map((entry) => entry.name)} />
        </div>
        <div>
          <h3>Lorenz now (Gini {gini(wealth).toFixed(2)})</h3>
          <LorenzChart points={lorenz(wealth)} size={120} />
        </div>
      </div>
      <div className="row">
        <div>
          <h3>Trades per tick</h3>
          <LineChart series={[{ name: "trades", points: trades }]} width={200} height={80} label="trade volume" markerTick={marker} />
        </div>
        <div>
          <h3>Gini over time</h3>
          <LineChart series={[{ name: "gini", points: upToTick(giniSeries, null) }]} width={200} height={80} yDomain={[0, 1]} label="gini over time" markerTick={marker} />
        </div>
      </div>
      <p className={anomalies.length > 0 ? "status bad" : "status good"} data-testid="ledger-status">
        {anomalies.length > 0
          ? `Ledger anomaly at tick ${toNumber(anomalies[0]!.tick)}: ${anomalies[0]!.details.case === "ledgerAnomaly" ? anomalies[0]!.details.value.message : ""}`
          : summary
            ? `Ledger conserves every unit (digest ${summary.ledgerDigest.slice(0, 12) || "–"} at tick ${toNumber(summary.tick)})`
            : "Ledger: no committed tick yet"}
      </p>
    </Panel>
  );
}
