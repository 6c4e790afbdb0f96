"""Named series over a run: from the stored tick summaries, plus Lorenz and knowledge spread."""

from __future__ import annotations

from collections.abc import Iterable

from emergence.mesh.errors import InvalidArgument
from emergence.mesh.validation import quoted
from emergence.v1 import common_pb2, event_pb2, observer_service_pb2, run_pb2
from engine.core.state import WorldState

SUMMARY_FIELDS = {
    "population.alive": "alive",
    "population.dead": "dead",
    "population.births": "births",
    "population.deaths": "deaths",
    "population.average_age": "average_age",
    "economy.trades": "trades",
    "economy.gini": "gini",
    "gini": "gini",
    "events": "events",
    "alerts": "alerts",
    "discoveries": "discoveries",
}
LLM_FIELDS = ("calls", "tokens_in", "tokens_out", "cost_usd", "p95_latency_ms", "fallbacks")
TIMING_FIELDS = tuple(field.name for field in run_pb2.PhaseTimings.DESCRIPTOR.fields)
HOLDERS = ("held_by_agents", "at_nodes", "in_structures", "on_ground")
DEFAULT_METRICS = (
    "population.alive",
    "population.dead",
    "population.births",
    "population.deaths",
    "economy.trades",
    "gini",
)
METRIC_HINT = (
    "use population.alive|dead|births|deaths|average_age, economy.trades, gini, events, alerts, "
    "discoveries, llm.cost_usd|calls|tokens_in|tokens_out|p95_latency_ms|fallbacks, "
    "timings.resolve_ms (wake, perceive, decide, persist, previous_persist), "
    "resource.wood.held_by_agents "
    "(at_nodes, in_structures, on_ground), knowledge.<item>, lorenz"
)
KNOWLEDGE_EVENTS: list[int] = [
    event_pb2.EVENT_TYPE_AGENT_BORN,
    event_pb2.EVENT_TYPE_AGENT_DIED,
    event_pb2.EVENT_TYPE_KNOWLEDGE_DISCOVERED,
    event_pb2.EVENT_TYPE_KNOWLEDGE_TAUGHT,
]


def check_metric(metric: str) -> None:
    """Refuse a name no series answers, before any query runs."""
    parts = metric.split(".")
    valid = (
        metric in SUMMARY_FIELDS
        or metric == "lorenz"
        or (len(parts) == 2 and parts[0] == "llm" and parts[1] in LLM_FIELDS)
        or (len(parts) == 2 and parts[0] == "timings" and parts[1] in TIMING_FIELDS)
        or (len(parts) == 2 and parts[0] == "knowledge" and bool(parts[1]))
        or (
            len(parts) == 3
            and parts[0] == "resource"
            and f"RESOURCE_{parts[1].upper()}" in common_pb2.Resource.DESCRIPTOR.values_by_name
            and parts[2] in HOLDERS
        )
    )
    if not valid:
        raise InvalidArgument(f"unknown metric {quoted(metric)}", hint=METRIC_HINT)


def summary_metric(summary: run_pb2.TickSummary, metric: str) -> float:
    """A named number from one tick summary (the metric was checked by check_metric)."""
    if metric == "discoveries":
        return float(len(summary.discoveries))
    if metric in SUMMARY_FIELDS:
        return float(getattr(summary, SUMMARY_FIELDS[metric]))
    group, _, name = metric.partition(".")
    if group == "llm":
        return float(getattr(summary.llm, name))
    if group == "timings":
        return float(getattr(summary.timings, name))
    resource, _, holder = name.partition(".")
    wanted = common_pb2.Resource.Value(f"RESOURCE_{resource.upper()}")
    for totals in summary.resources:
        if totals.resource == wanted:
            return float(getattr(totals, holder))
    return 0.0


def lorenz(state: WorldState) -> observer_service_pb2.Series:
    """Lorenz curve of living agents' wealth now: point i is the share held by the i poorest."""
    wealth = sorted(sum(agent.inventory.values()) for agent in state.living_agents())
    total = sum(wealth)
    points = [observer_service_pb2.SeriesPoint(tick=0, value=0.0)]
    running = 0
    for index, value in enumerate(wealth, start=1):
        running += value
        points.append(
            observer_service_pb2.SeriesPoint(tick=index, value=running / total if total else 0.0)
        )
    return observer_service_pb2.Series(metric="lorenz", points=points)


def knowledge_spread(
    item: str,
    genesis: WorldState,
    events: Iterable[event_pb2.Event],
    ticks: list[int],
) -> observer_service_pb2.Series:
    """How many living agents know `item` at each of `ticks`, from births, deaths and learning."""
    knowers = {a.id for a in genesis.agents.values() if a.alive and item in a.knowledge}
    dead: set[str] = set()
    points = []
    pending = iter(sorted(ticks))
    next_tick = next(pending, None)
    for event in events:
        while next_tick is not None and event.tick > next_tick:
            points.append(_point(next_tick, knowers, dead))
            next_tick = next(pending, None)
        if event.tick == 0:
            continue  # genesis is in the starting set
        _learn(item, event, knowers, dead)
    while next_tick is not None:
        points.append(_point(next_tick, knowers, dead))
        next_tick = next(pending, None)
    return observer_service_pb2.Series(metric=f"knowledge.{item}", points=points)


def _point(tick: int, knowers: set[str], dead: set[str]) -> observer_service_pb2.SeriesPoint:
    return observer_service_pb2.SeriesPoint(tick=tick, value=float(len(knowers - dead)))


def _learn(item: str, event: event_pb2.Event, knowers: set[str], dead: set[str]) -> None:
    if event.type == event_pb2.EVENT_TYPE_AGENT_DIED:
        dead.add(event.agent_id)
    elif event.type == event_pb2.EVENT_TYPE_AGENT_BORN:
        if item in event.agent_born.knowledge:
            knowers.add(event.agent_id)
    elif event.knowledge.knowledge == item and (
        event.type == event_pb2.EVENT_TYPE_KNOWLEDGE_TAUGHT or event.knowledge.success
    ):
        knowers.add(event.agent_id)
