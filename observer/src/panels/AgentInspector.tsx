// Panel 3, agent inspector: one agent's vitals over time, inventory, personality, knowledge, skills,
// goals, memories, relationships, lineage and decisions with reasoning and brain.
import { Radar, type RadarAxis } from "../charts/Radar.js";
import { Legend, LineChart } from "../charts/LineChart.js";
import type { Agent, MemoryEntry } from "../gen/emergence/v1/agent_pb.js";
import { DeathCause, Resource, Skill } from "../gen/emergence/v1/common_pb.js";
import { BrainKind, type Decision } from "../gen/emergence/v1/run_pb.js";
import { enumLabel, shortId, toNumber } from "../model/labels.js";
import type { NamedSeries } from "../model/series.js";
import { useLoad } from "../state/useLoad.js";
import type { DashboardContext } from "./context.js";
import { Panel } from "./Panel.js";

const VITALS_WINDOW_TICKS = 200;

interface Detail {
  runId: string;
  agentId: string;
  agent: Agent | null;
  memories: MemoryEntry[];
  decisions: Decision[];
  vitals: NamedSeries[];
}

const EMPTY: Detail = { runId: "", agentId: "", agent: null, memories: [], decisions: [], vitals: [] };

export function AgentInspector({ context }: { context: DashboardContext }) {
  const { clients, runId, selectedAgentId, shownTick, viewTick } = context;
  const refreshKey = viewTick === null ? Math.floor(shownTick / 5) : shownTick;
  const load = runId && selectedAgentId ? () => loadDetail(context, runId, selectedAgentId) : null;
  const { value, error, loading } = useLoad(clients.gatewayUrl, load, [clients, runId, selectedAgentId, refreshKey]);
  // Until the newly picked agent's reply arrives, show nothing of the one picked before.
  const detail = value && value.agentId === selectedAgentId && value.runId === runId ? value : EMPTY;

  if (!selectedAgentId) {
    return (
      <Panel id="agent" title="Agent inspector">
        <div className="empty">Pick an agent on the map, in the timeline or in the list below.</div>
        <AgentList context={context} />
      </Panel>
    );
  }
  // At a past tick the agent as it was then comes from the rebuilt state; memories and decisions from the store.
  const then = context.agents.find((agent) => agent.id === selectedAgentId);
  const agent = (viewTick !== null ? then : detail.agent) ?? then ?? detail.agent;
  const name = agent?.name || context.names.get(selectedAgentId) || shortId(selectedAgentId);
  return (
    <Panel id="agent" title={`Agent inspector · ${name}`} error={error} loading={loading && detail.agent === null} tools={<button onClick={() => context.selectAgent("")}>close</button>}>
      {agent ? <AgentFacts agent={agent} context={context} /> : null}
      <div className="row">
        {agent?.personality ? (
          <div>
            <h3>Personality</h3>
            <Radar axes={personalityAxes(agent)} size={110} />
          </div>
        ) : null}
        <div style={{ width: 200 }}>
          <h3>Vitals (last {VITALS_WINDOW_TICKS} ticks)</h3>
          <LineChart series={detail.vitals} width={200} height={110} yDomain={[0, 100]} label="vitals over time" markerTick={viewTick} />
          <Legend names={detail.vitals.map((series) => series.name)} />
        </div>
      </div>
      <h3>Decisions</h3>
      {detail.decisions.length === 0 ? <div className="empty">No decisions recorded near this tick.</div> : null}
      <ol className="decisions" aria-label="decisions">
        {detail.decisions.map((decision) => (
          <li key={`${decision.tick}`}>
            <span className="tick">{toNumber(decision.tick)}</span>
            <b>{actionName(decision)}</b>{" "}
            <span className="badge">{decision.record ? enumLabel(BrainKind, decision.record.brain) : "?"}</span>
            {decision.record?.model ? <span className="badge muted">{decision.record.model}</span> : null}
            {decision.record ? <span className="muted"> {decision.record.latencyMs.toFixed(1)} ms</span> : null}
            {decision.record?.reasoning ? <div className="reasoning">{decision.record.reasoning.slice(0, 400)}</div> : null}
          </li>
        ))}
      </ol>
      <h3>Memories</h3>
      {detail.memories.length === 0 ? <div className="empty">No memories stored.</div> : null}
      <ul className="memories">
        {detail.memories.slice(-15).reverse().map((memory, index) => (
          <li key={`${memory.tick}-${index}`}>
            <span className="tick">{toNumber(memory.tick)}</span> {memory.summary}
          </li>
        ))}
      </ul>
    </Panel>
  );
}

/** The agent, its decisions near the shown tick and its vitals over the window before it. */
async function loadDetail(context: DashboardContext, runId: string, agentId: string): Promise<Detail> {
  const { clients, shownTick } = context;
  const lower = BigInt(Math.max(0, shownTick - VITALS_WINDOW_TICKS));
  const [agentResponse, decisionsResponse, eventsResponse] = await Promise.all([
    clients.observer.getAgent({ runId, agentId, includeMemories: true }),
    clients.observer.listDecisions({ runId, agentId, fromTick: BigInt(Math.max(0, shownTick - 30)), toTick: BigInt(shownTick), pageSize: 50 }),
    clients.observer.queryEvents({ runId, agentId, fromTick: lower, toTick: BigInt(shownTick), pageSize: 2000 }),
  ]);
  const points = new Map<number, { energy: number; health: number; hunger: number; thirst: number }>();
  for (const event of eventsResponse.events) {
    const vitals = event.agentState?.vitals;
    if (vitals && event.agentState?.agentId === agentId) points.set(toNumber(event.tick), vitals);
  }
  const ticks = [...points.keys()].sort((a, b) => a - b);
  const series = (name: "energy" | "health" | "hunger" | "thirst"): NamedSeries => ({ name, points: ticks.map((tick) => ({ tick, value: points.get(tick)![name] })) });
  const decisions = decisionsResponse.decisions.length > 0 ? decisionsResponse.decisions : agentResponse.recentDecisions;
  return {
    runId,
    agentId,
    agent: agentResponse.agent ?? null,
    memories: agentResponse.memories,
    decisions: [...decisions].sort((a, b) => toNumber(b.tick) - toNumber(a.tick)).slice(0, 20),
    vitals: [series("energy"), series("health"), series("hunger"), series("thirst")],
  };
}

/** "gather", "trade offer": the chosen action's kind in words. */
function actionName(decision: Decision): string {
  const kind = decision.action?.params.case;
  return kind ? kind.replace(/([A-Z])/g, " $1").toLowerCase() : "no action";
}

function personalityAxes(agent: Agent): RadarAxis[] {
  const traits = agent.personality;
  if (!traits) return [];
  return [
    { name: "curious", value: traits.curiosity },
    { name: "cooperative", value: traits.cooperation },
    { name: "aggressive", value: traits.aggression },
    { name: "risk", value: traits.riskTolerance },
    { name: "industrious", value: traits.industriousness },
    { name: "sociable", value: traits.sociability },
    { name: "honest", value: traits.honesty },
    { name: "loyal", value: traits.loyalty },
  ];
}

function AgentFacts({ agent, context }: { agent: Agent; context: DashboardContext }) {
  const vitals = agent.vitals;
  const who = (id: string): string => context.names.get(id) ?? shortId(id);
  return (
    <div className="agent-facts">
      <div>
        <p>
          {agent.alive ? "alive" : `died at tick ${toNumber(agent.diedTick)} (${enumLabel(DeathCause, agent.deathCause).toLowerCase()})`} · generation {agent.generation} · born tick {toNumber(agent.bornTick)}
          {agent.parentIds.length > 0 ? ` · child of ${agent.parentIds.map(who).join(" and ")}` : ""}
        </p>
        {vitals ? (
          <p className="vitals">
            energy {vitals.energy.toFixed(0)} · health {vitals.health.toFixed(0)} · hunger {vitals.hunger.toFixed(0)} · thirst {vitals.thirst.toFixed(0)} · age {toNumber(vitals.age)}
          </p>
        ) : null}
        <p>
          <b>Inventory:</b> {agent.inventory.map((amount) => `${toNumber(amount.quantity)} ${enumLabel(Resource, amount.resource).toLowerCase()}`).join(", ") || "empty"}
        </p>
        <p>
          <b>Knowledge:</b> {agent.knowledge.join(", ") || "none"}
        </p>
        <p>
          <b>Skills:</b> {agent.skills.map((skill) => `${enumLabel(Skill, skill.skill).toLowerCase()} ${skill.level}`).join(", ") || "none"}
        </p>
        <p>
          <b>Goals:</b> {agent.goals.map((goal) => goal.text).join("; ") || "none"}
        </p>
        <p>
          <b>Relationships:</b>{" "}
          {[...agent.relationships]
            .sort((a, b) => Math.abs(b.trust) - Math.abs(a.trust))
            .slice(0, 8)
            .map((relation) => `${who(relation.otherAgentId)} ${relation.trust >= 0 ? "+" : ""}${relation.trust.toFixed(2)}`)
            .join(", ") || "none"}
        </p>
      </div>
    </div>
  );
}

function AgentList({ context }: { context: DashboardContext }) {
  const living = context.agents.filter((agent) => agent.alive).sort((a, b) => a.name.localeCompare(b.name));
  if (living.length === 0) return null;
  return (
    <div className="agent-list">
      {living.map((agent) => (
        <button key={agent.id} className="link" data-agent-id={agent.id} onClick={() => context.selectAgent(agent.id)}>
          {agent.name}
        </button>
      ))}
    </div>
  );
}
