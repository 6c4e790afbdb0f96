"""What a run did, computed from its stored history: series, firsts, graph, constructs, decisions.

Pure: the inputs are the stored messages (tick summaries, the events of the types below,
decision records) and the agents' holdings at the end; nothing here reads a store or a clock.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from emergence.v1 import common_pb2, event_pb2, run_pb2

E = event_pb2

# The event types the analysis reads; a loader asks the store for these only (the bulk of a
# history – actions, gathering, movement – is not needed).
ANALYSED_EVENT_TYPES: tuple[int, ...] = (
    E.EVENT_TYPE_AGENT_BORN,
    E.EVENT_TYPE_AGENT_DIED,
    E.EVENT_TYPE_TRADE_COMPLETED,
    E.EVENT_TYPE_KNOWLEDGE_DISCOVERED,
    E.EVENT_TYPE_RELATIONSHIP_CHANGED,
    E.EVENT_TYPE_GROUP_FORMED,
    E.EVENT_TYPE_THEFT_OCCURRED,
    E.EVENT_TYPE_LAW_ENACTED,
    E.EVENT_TYPE_SOCIAL_CONSTRUCT_FORMED,
    E.EVENT_TYPE_SOCIAL_CONSTRUCT_DISBANDED,
    E.EVENT_TYPE_WORLD_EVENT,
    E.EVENT_TYPE_ERA_CHANGED,
    E.EVENT_TYPE_COMBAT_INITIATED,
)


def analysed_event_types() -> tuple[int, ...]:
    """ANALYSED_EVENT_TYPES and what the construct detectors read (emergence/analysis/constructs)."""
    from emergence.analysis.constructs import CONSTRUCT_EVENT_TYPES

    return tuple(dict.fromkeys((*ANALYSED_EVENT_TYPES, *CONSTRUCT_EVENT_TYPES)))


# Trust at or above which a relationship is drawn in the social graph (−1..1 scale).
GRAPH_TRUST_THRESHOLD = 0.3


def enum_label(enum: object, value: int, prefix: str) -> str:
    """`DEATH_CAUSE_OLD_AGE` → `old age`; unknown numbers stay visible as numbers."""
    try:
        name: str = enum.Name(value)  # type: ignore[attr-defined]
    except ValueError:
        return str(value)
    return name.removeprefix(prefix).replace("_", " ").lower()


@dataclass(frozen=True)
class AgentAtEnd:
    """One agent as the last snapshot has it."""

    agent_id: str
    name: str
    alive: bool
    wealth: int


@dataclass(frozen=True)
class DecisionFigures:
    tick: int
    brain: int
    latency_ms: float
    cost_usd: float
    tokens_in: int
    tokens_out: int


@dataclass
class RunHistory:
    """Everything the analysis reads for one run."""

    run: run_pb2.Run
    summaries: list[run_pb2.TickSummary]
    events: list[event_pb2.Event]
    decisions: list[DecisionFigures]
    agents_at_end: list[AgentAtEnd]
    # The agents at the first stored tick, when a snapshot has them: a fork's founders were born
    # in its parent's history, not in its own.
    agents_at_start: list[AgentAtEnd] = field(default_factory=list)


@dataclass(frozen=True)
class First:
    """The first time something happened: the headline answers of a report."""

    what: str
    tick: int
    who: str
    detail: str = ""


@dataclass(frozen=True)
class Discovery:
    item: str
    tick: int
    who: str
    method: str


@dataclass(frozen=True)
class Construct:
    construct_id: str
    name: str
    category: str
    formed_tick: int
    disbanded_tick: int | None
    adherents: int


@dataclass(frozen=True)
class BrainFigures:
    brain: str
    decisions: int
    mean_latency_ms: float
    p95_latency_ms: float
    cost_usd: float
    tokens_in: int
    tokens_out: int


@dataclass
class SocialGraph:
    nodes: list[tuple[str, str, bool]] = field(default_factory=list)  # id, name, alive
    edges: list[tuple[str, str, float]] = field(default_factory=list)  # a, b, mutual trust


@dataclass
class RunAnalysis:
    run_id: str
    seed: int
    brain: str
    status: str
    end_reason: str
    parent_run_id: str
    forked_at_tick: int
    ticks: list[int]
    alive: list[int]
    births: list[int]
    deaths: list[int]
    gini: list[float]
    trades: list[int]
    trade_units: list[int]
    resources_held: dict[str, list[int]]
    resources_total: dict[str, list[int]]
    deaths_by_cause: dict[str, int]
    lorenz: list[tuple[float, float]]
    discoveries: list[Discovery]
    knowledge_spread: dict[str, list[tuple[int, int]]]
    graph: SocialGraph
    constructs: list[Construct]
    decisions_by_brain: list[BrainFigures]
    firsts: list[First]
    world_events: list[First]
    founders: int
    founders_alive: int
    thefts: int
    groups_formed: int
    laws_enacted: int
    combats: int

    @property
    def last_tick(self) -> int:
        return self.ticks[-1] if self.ticks else 0

    @property
    def initial_agents(self) -> int:
        return self.alive[0] if self.alive else 0


def lorenz_curve(wealth: Iterable[int]) -> list[tuple[float, float]]:
    """Points (share of agents, share of wealth) from (0, 0) to (1, 1), poorest first."""
    ordered = sorted(max(0, value) for value in wealth)
    total = sum(ordered)
    if not ordered or total == 0:
        return [(0.0, 0.0), (1.0, 1.0)]
    points = [(0.0, 0.0)]
    running = 0
    for index, value in enumerate(ordered, start=1):
        running += value
        points.append((index / len(ordered), running / total))
    return points


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; 0 for no values (the same rule as the tick summary's p95)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def _names(events: Sequence[event_pb2.Event], agents: Sequence[AgentAtEnd]) -> dict[str, str]:
    names = {agent.agent_id: agent.name for agent in agents}
    for event in events:
        if event.type == E.EVENT_TYPE_AGENT_BORN and event.agent_born.name:
            names.setdefault(event.agent_id, event.agent_born.name)
    # Names repeat across generations: a shared name gets the end of the id to tell them apart.
    shared = Counter(names.values())
    return {
        agent_id: f"{name} ·{agent_id[-4:]}" if shared[name] > 1 else name
        for agent_id, name in names.items()
    }


def _series(history: RunHistory) -> dict[str, object]:
    summaries = history.summaries
    held: dict[str, list[int]] = defaultdict(lambda: [0] * len(summaries))
    total: dict[str, list[int]] = defaultdict(lambda: [0] * len(summaries))
    for index, summary in enumerate(summaries):
        for totals in summary.resources:
            name = enum_label(common_pb2.Resource, totals.resource, "RESOURCE_")
            held[name][index] = totals.held_by_agents
            total[name][index] = (
                totals.held_by_agents + totals.at_nodes + totals.in_structures + totals.on_ground
            )
    units_by_tick: Counter[int] = Counter()
    for event in history.events:
        if event.type == E.EVENT_TYPE_TRADE_COMPLETED:
            moved = sum(amount.quantity for amount in event.trade.given)
            moved += sum(amount.quantity for amount in event.trade.received)
            units_by_tick[event.tick] += moved
    return {
        "ticks": [summary.tick for summary in summaries],
        "alive": [summary.alive for summary in summaries],
        "births": [summary.births for summary in summaries],
        "deaths": [summary.deaths for summary in summaries],
        "gini": [summary.gini for summary in summaries],
        "trades": [summary.trades for summary in summaries],
        "trade_units": [units_by_tick.get(summary.tick, 0) for summary in summaries],
        "resources_held": dict(sorted(held.items())),
        "resources_total": dict(sorted(total.items())),
    }


def _knowledge(
    events: Sequence[event_pb2.Event], names: dict[str, str]
) -> tuple[list[Discovery], dict[str, list[tuple[int, int]]]]:
    """First discoveries and, per item, (tick, living agents who know it) at every change."""
    knowers: dict[str, set[str]] = defaultdict(set)
    spread: dict[str, list[tuple[int, int]]] = defaultdict(list)
    firsts: list[Discovery] = []

    def record(item: str, tick: int) -> None:
        points = spread[item]
        if points and points[-1][0] == tick:
            points[-1] = (tick, len(knowers[item]))
        else:
            points.append((tick, len(knowers[item])))

    for event in events:
        if event.type == E.EVENT_TYPE_AGENT_BORN:
            for item in event.agent_born.knowledge:
                knowers[item].add(event.agent_id)
                record(item, event.tick)
        elif event.type == E.EVENT_TYPE_KNOWLEDGE_DISCOVERED and event.knowledge.success:
            item = event.knowledge.knowledge
            if event.knowledge.first_in_run:
                method = enum_label(E.DiscoveryMethod, event.knowledge.method, "DISCOVERY_METHOD_")
                who = names.get(event.agent_id, event.agent_id)
                firsts.append(Discovery(item, event.tick, who, method))
            knowers[item].add(event.agent_id)
            record(item, event.tick)
        elif event.type == E.EVENT_TYPE_AGENT_DIED:
            for item, holders in knowers.items():
                if event.agent_id in holders:
                    holders.discard(event.agent_id)
                    record(item, event.tick)
    return firsts, dict(sorted(spread.items()))


def _graph(
    events: Sequence[event_pb2.Event], agents: Sequence[AgentAtEnd], names: dict[str, str]
) -> SocialGraph:
    """Mutual trust at the end between agents who both hold it above the threshold."""
    trust: dict[tuple[str, str], float] = {}
    for event in events:
        if event.type == E.EVENT_TYPE_RELATIONSHIP_CHANGED:
            trust[(event.agent_id, event.relationship.other_agent_id)] = event.relationship.current
    alive = {agent.agent_id: agent.alive for agent in agents}
    edges = []
    for (first, second), value in sorted(trust.items()):
        back = trust.get((second, first))
        if first < second and back is not None:
            mutual = min(value, back)
            if mutual >= GRAPH_TRUST_THRESHOLD and alive.get(first) and alive.get(second):
                edges.append((first, second, mutual))
    linked = {agent_id for edge in edges for agent_id in edge[:2]}
    nodes = [
        (agent.agent_id, names.get(agent.agent_id, agent.agent_id), agent.alive)
        for agent in agents
        if agent.alive or agent.agent_id in linked
    ]
    return SocialGraph(nodes=nodes, edges=edges)


def _constructs(events: Sequence[event_pb2.Event], last_tick: int) -> list[Construct]:
    """The engine's constructs and those detected from the history, by formation."""
    from emergence.analysis.constructs import all_constructs

    return [
        Construct(
            found.id,
            found.name,
            enum_label(E.ConstructCategory, found.category, "CONSTRUCT_CATEGORY_"),
            found.formed_tick,
            found.disbanded_tick,
            len(found.adherent_ids),
        )
        for found in all_constructs(events, last_tick)
    ]


def _brains(decisions: Sequence[DecisionFigures]) -> list[BrainFigures]:
    by_brain: dict[int, list[DecisionFigures]] = defaultdict(list)
    for decision in decisions:
        by_brain[decision.brain].append(decision)
    figures = []
    for brain, records in sorted(by_brain.items()):
        latencies = [record.latency_ms for record in records]
        figures.append(
            BrainFigures(
                brain=enum_label(run_pb2.BrainKind, brain, "BRAIN_KIND_"),
                decisions=len(records),
                mean_latency_ms=sum(latencies) / len(latencies),
                p95_latency_ms=percentile(latencies, 0.95),
                cost_usd=sum(record.cost_usd for record in records),
                tokens_in=sum(record.tokens_in for record in records),
                tokens_out=sum(record.tokens_out for record in records),
            )
        )
    return figures


_FIRST_OF = {
    E.EVENT_TYPE_TRADE_COMPLETED: "first trade",
    E.EVENT_TYPE_THEFT_OCCURRED: "first theft",
    E.EVENT_TYPE_GROUP_FORMED: "first group",
    E.EVENT_TYPE_LAW_ENACTED: "first law",
    E.EVENT_TYPE_COMBAT_INITIATED: "first fight",
}


def _first_detail(event: event_pb2.Event, names: dict[str, str]) -> str:
    if event.type == E.EVENT_TYPE_TRADE_COMPLETED:
        return f"with {names.get(event.trade.accepter_id, event.trade.accepter_id)}"
    if event.type == E.EVENT_TYPE_THEFT_OCCURRED:
        victim = names.get(event.theft.victim_id, event.theft.victim_id)
        resource = enum_label(common_pb2.Resource, event.theft.resource, "RESOURCE_")
        return f"{event.theft.quantity} {resource} from {victim}"
    if event.type == E.EVENT_TYPE_GROUP_FORMED:
        members = len(event.group.member_ids)
        return f"{event.group.name[:80]} ({members} member{'' if members == 1 else 's'})"
    if event.type == E.EVENT_TYPE_LAW_ENACTED:
        return event.diplomacy.terms[:80]
    return ""


def _firsts(events: Sequence[event_pb2.Event], names: dict[str, str]) -> list[First]:
    seen: dict[str, First] = {}
    for event in events:
        what = _FIRST_OF.get(event.type)
        if what is not None and what not in seen:
            actor = event.trade.offerer_id if event.HasField("trade") else event.agent_id
            who = names.get(actor or event.agent_id, actor or event.agent_id)
            seen[what] = First(what, event.tick, who, _first_detail(event, names))
    return [seen[what] for what in _FIRST_OF.values() if what in seen]


def _world_events(events: Sequence[event_pb2.Event]) -> list[First]:
    return [
        First(
            event.world_event.kind.lower() or "world event",
            event.tick,
            "operator",
            event.world_event.region or event.world_event.location_id,
        )
        for event in events
        if event.type == E.EVENT_TYPE_WORLD_EVENT
    ]


def analyze(history: RunHistory) -> RunAnalysis:
    events = history.events
    names = _names(events, history.agents_at_end)
    series = _series(history)
    discoveries, spread = _knowledge(events, names)
    causes = Counter(
        enum_label(common_pb2.DeathCause, event.agent_died.cause, "DEATH_CAUSE_")
        for event in events
        if event.type == E.EVENT_TYPE_AGENT_DIED
    )
    count = Counter(event.type for event in events)
    run = history.run
    first_tick = history.summaries[0].tick if history.summaries else 0
    last_tick = history.summaries[-1].tick if history.summaries else 0
    founders = {agent.agent_id for agent in history.agents_at_start if agent.alive} or {
        event.agent_id
        for event in events
        if event.type == E.EVENT_TYPE_AGENT_BORN and event.tick <= first_tick
    }
    alive_at_end = {agent.agent_id for agent in history.agents_at_end if agent.alive}
    return RunAnalysis(
        run_id=run.id,
        seed=run.config.seed,
        brain=enum_label(run_pb2.BrainKind, run.config.brain, "BRAIN_KIND_"),
        status=enum_label(run_pb2.RunStatus, run.status, "RUN_STATUS_"),
        end_reason=enum_label(run_pb2.EndReason, run.end_reason, "END_REASON_"),
        parent_run_id=run.parent_run_id,
        forked_at_tick=run.forked_at_tick,
        lorenz=lorenz_curve(agent.wealth for agent in history.agents_at_end if agent.alive),
        deaths_by_cause=dict(causes.most_common()),
        discoveries=discoveries,
        knowledge_spread=spread,
        graph=_graph(events, history.agents_at_end, names),
        constructs=_constructs(events, last_tick),
        decisions_by_brain=_brains(history.decisions),
        firsts=_firsts(events, names),
        world_events=_world_events(events),
        founders=len(founders),
        founders_alive=len(founders & alive_at_end),
        thefts=count[E.EVENT_TYPE_THEFT_OCCURRED],
        groups_formed=count[E.EVENT_TYPE_GROUP_FORMED],
        laws_enacted=count[E.EVENT_TYPE_LAW_ENACTED],
        combats=count[E.EVENT_TYPE_COMBAT_INITIATED],
        **series,  # type: ignore[arg-type]
    )


# The metrics a comparison puts side by side, in this order; every value is a number so that
# seeds can be averaged (a tick that never came is NaN, and is left out of a mean).
COMPARISON_METRICS: tuple[str, ...] = (
    "ticks",
    "population_start",
    "population_end",
    "population_peak",
    "survival_rate",
    "births",
    "deaths",
    "trades",
    "trade_units",
    "gini_end",
    "gini_mean",
    "discoveries",
    "first_discovery_tick",
    "first_trade_tick",
    "thefts",
    "groups_formed",
    "laws_enacted",
    "constructs_formed",
    "llm_calls",
    "llm_cost_usd",
)


def comparison_metrics(analysis: RunAnalysis) -> dict[str, float]:
    """One number per metric of COMPARISON_METRICS, plus `deaths.<cause>` for each cause seen."""
    nan = float("nan")
    firsts = {first.what: first.tick for first in analysis.firsts}
    start = analysis.initial_agents
    end = analysis.alive[-1] if analysis.alive else 0
    llm = [brain for brain in analysis.decisions_by_brain if brain.brain == "llm"]
    metrics = {
        "ticks": float(analysis.last_tick),
        "population_start": float(start),
        "population_end": float(end),
        "population_peak": float(max(analysis.alive, default=0)),
        # The share of the founding agents still alive: later generations do not count.
        "survival_rate": analysis.founders_alive / analysis.founders if analysis.founders else nan,
        "births": float(sum(analysis.births)),
        "deaths": float(sum(analysis.deaths)),
        "trades": float(sum(analysis.trades)),
        "trade_units": float(sum(analysis.trade_units)),
        "gini_end": analysis.gini[-1] if analysis.gini else nan,
        "gini_mean": sum(analysis.gini) / len(analysis.gini) if analysis.gini else nan,
        "discoveries": float(len(analysis.discoveries)),
        "first_discovery_tick": float(analysis.discoveries[0].tick)
        if analysis.discoveries
        else nan,
        "first_trade_tick": float(firsts["first trade"]) if "first trade" in firsts else nan,
        "thefts": float(analysis.thefts),
        "groups_formed": float(analysis.groups_formed),
        "laws_enacted": float(analysis.laws_enacted),
        "constructs_formed": float(len(analysis.constructs)),
        "llm_calls": float(sum(brain.decisions for brain in llm)),
        "llm_cost_usd": sum(brain.cost_usd for brain in analysis.decisions_by_brain),
    }
    for cause, deaths in analysis.deaths_by_cause.items():
        metrics[f"deaths.{cause.replace(' ', '_')}"] = float(deaths)
    return metrics
