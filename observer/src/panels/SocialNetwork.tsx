// Panel 6, social network: trust between agents as edge colour and width, groups, bonds, conflicts.
import { schemeTableau10 } from "d3-scale-chromatic";
import { useEffect, useMemo, useState } from "react";
import { describeError } from "../api/clients.js";
import type { GetSocialGraphResponse } from "../gen/emergence/v1/observer_service_pb.js";
import { edgeColour, edgeWidth, graphInputs, layoutGraph } from "../model/graph.js";
import type { DashboardContext } from "./context.js";
import { Panel } from "./Panel.js";

const WIDTH = 420;
const HEIGHT = 260;
const MIN_ABS_TRUST = 0.2;

export function SocialNetwork({ context }: { context: DashboardContext }) {
  const { clients, runId, shownTick, viewTick } = context;
  const [graph, setGraph] = useState<GetSocialGraphResponse | null>(null);
  const [error, setError] = useState("");
  // Live: ask again every 10 ticks; in the past: for the chosen tick.
  const askTick = viewTick ?? Math.floor(shownTick / 10) * 10;
  useEffect(() => {
    if (!runId) return;
    let active = true;
    clients.observer
      .getSocialGraph({ runId, tick: BigInt(askTick), minAbsTrust: MIN_ABS_TRUST })
      .then((response) => {
        if (active) {
          setGraph(response);
          setError("");
        }
      })
      .catch((failure: unknown) => {
        if (active) setError(describeError(failure, clients.gatewayUrl));
      });
    return () => {
      active = false;
    };
  }, [clients, runId, askTick]);

  const positioned = useMemo(() => (graph ? layoutGraph(graphInputs(graph.nodes, graph.edges, MIN_ABS_TRUST), WIDTH, HEIGHT) : null), [graph]);
  const groups = graph?.groups ?? [];
  const groupColour = (group: string): string => (group ? schemeTableau10[Math.max(0, groups.findIndex((entry) => entry.id === group)) % 10]! : "#808b96");
  const kinds = new Map<string, number>();
  for (const link of positioned?.links ?? []) kinds.set(link.kind, (kinds.get(link.kind) ?? 0) + 1);
  return (
    <Panel id="social" title={`Social network · tick ${askTick}`} error={error} loading={graph === null && !error}>
      {positioned && positioned.nodes.length === 0 ? <div className="empty">No relationships yet.</div> : null}
      {positioned ? (
        <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} className="graph" role="img" aria-label="social graph">
          {positioned.links.map((link) => (
            <line
              key={`${link.source.id}-${link.target.id}-${link.kind}`}
              x1={link.source.x}
              y1={link.source.y}
              x2={link.target.x}
              y2={link.target.y}
              stroke={edgeColour(link.trust, link.kind)}
              strokeWidth={edgeWidth(link.trust)}
              strokeDasharray={link.kind === "bond" ? "4 2" : undefined}
              opacity={0.8}
            >
              <title>{`${link.source.name} – ${link.target.name}: ${link.kind} ${link.trust.toFixed(2)}`}</title>
            </line>
          ))}
          {positioned.nodes.map((node) => (
            <g key={node.id} transform={`translate(${node.x},${node.y})`} onClick={() => context.selectAgent(node.id)} className="node">
              <circle r={4 + Math.min(6, node.degree)} fill={node.alive ? groupColour(node.group) : "#ccd1d1"} />
              <text y={-8} textAnchor="middle" className="axis">
                {node.name}
              </text>
            </g>
          ))}
        </svg>
      ) : null}
      <div className="legend small">
        <span>
          <i style={{ background: edgeColour(1, "trust") }} />
          trust
        </span>
        <span>
          <i style={{ background: edgeColour(-1, "trust") }} />
          distrust / conflict
        </span>
        <span>
          <i style={{ background: edgeColour(0, "parent") }} />
          parent
        </span>
        <span>{[...kinds.entries()].map(([kind, count]) => `${count} ${kind}`).join(" · ")}</span>
      </div>
      {groups.length > 0 ? (
        <p className="small">
          <b>Groups:</b> {groups.map((group) => `${group.name} (${group.memberIds.length})`).join(", ")}
        </p>
      ) : null}
    </Panel>
  );
}
