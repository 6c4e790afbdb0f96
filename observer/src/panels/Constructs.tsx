// Panel 10, social constructs: religions, governments, families, economic systems and cultures as detected.
import { ConstructCategory } from "../gen/emergence/v1/event_pb.js";
import type { SocialConstruct } from "../gen/emergence/v1/run_pb.js";
import { enumLabel, shortId, toNumber } from "../model/labels.js";
import type { DashboardContext } from "./context.js";
import { Panel } from "./Panel.js";
import { useRunQuery } from "../state/useRunQuery.js";

const REFRESH_TICKS = 20;

export function Constructs({ context }: { context: DashboardContext }) {
  const { clients, shownTick } = context;
  const { value: constructs, error } = useRunQuery<SocialConstruct[]>(
    context,
    async (runId) => (await clients.observer.listConstructs({ runId })).constructs,
    REFRESH_TICKS,
  );
  // Time travel: only what had formed by the shown tick, and still standing then.
  const shown = (constructs ?? []).filter((construct) => toNumber(construct.formedTick) <= shownTick);
  return (
    <Panel id="constructs" title="Social constructs" error={error} loading={constructs === null && !error}>
      {constructs !== null && shown.length === 0 ? <div className="empty">No religion, government, family or economy detected yet.</div> : null}
      <table className="table">
        <tbody>
          {shown.slice(0, 14).map((construct) => {
            const gone = construct.disbandedTick > 0n && toNumber(construct.disbandedTick) <= shownTick;
            return (
              <tr key={construct.id} className={gone ? "muted" : ""}>
                <td>{enumLabel(ConstructCategory, construct.category)}</td>
                <td title={construct.history.join("\n")}>{construct.name}</td>
                <td>{construct.adherentIds.length} adherents</td>
                <td>{construct.founderId ? `founder ${context.names.get(construct.founderId) ?? shortId(construct.founderId)}` : "no single founder"}</td>
                <td>
                  tick {toNumber(construct.formedTick)}
                  {gone ? `–${toNumber(construct.disbandedTick)}` : ""}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {shown.length > 14 ? <p className="small">and {shown.length - 14} more</p> : null}
    </Panel>
  );
}
