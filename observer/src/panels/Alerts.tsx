// Panel 12, alerts: what the engine stored (escape attempts, ledger anomalies, ...) and what the
// dashboard derives from the stream (firsts, low population, economic collapse, injected world events).
import { AlertKind, AlertSeverity } from "../gen/emergence/v1/event_pb.js";
import type { Alert } from "../gen/emergence/v1/run_pb.js";
import { derivedAlerts } from "../model/alerts.js";
import { enumLabel, toNumber } from "../model/labels.js";
import { eventsUpToShown, type DashboardContext } from "./context.js";
import { Panel } from "./Panel.js";
import { useRunQuery } from "../state/useRunQuery.js";

const REFRESH_TICKS = 5;

interface Row {
  key: string;
  tick: number;
  severity: AlertSeverity;
  kind: string;
  message: string;
}

export function Alerts({ context }: { context: DashboardContext }) {
  const { clients, shownTick } = context;
  const { value: stored, error } = useRunQuery<Alert[]>(
    context,
    async (runId) => (await clients.observer.listAlerts({ runId })).alerts,
    REFRESH_TICKS,
  );
  const summaries = context.summaries.filter((summary) => toNumber(summary.tick) <= shownTick);
  const rows: Row[] = [
    ...(stored ?? []).map((alert) => ({
      key: alert.id,
      tick: toNumber(alert.tick),
      severity: alert.severity,
      kind: enumLabel(AlertKind, alert.kind),
      message: `${alert.message}${alert.text ? `: “${alert.text.slice(0, 160)}”` : ""}`,
    })),
    ...derivedAlerts(summaries, eventsUpToShown(context), context.run?.config?.agents ?? 0).map((alert) => ({ ...alert, kind: "Dashboard" })),
  ]
    .filter((row) => row.tick <= shownTick)
    .sort((a, b) => b.tick - a.tick || b.severity - a.severity);
  return (
    <Panel id="alerts" title={`Alerts (${rows.length})`} error={error} loading={stored === null && !error}>
      {rows.length === 0 ? <div className="empty">No alerts.</div> : null}
      <ol className="alerts" aria-label="alerts">
        {rows.slice(0, 40).map((row) => (
          <li key={row.key} className={`severity-${AlertSeverity[row.severity]?.toLowerCase() ?? "info"}`}>
            <span className="tick">{row.tick}</span>
            <span className="badge">{row.kind}</span> {row.message}
          </li>
        ))}
      </ol>
    </Panel>
  );
}
