"""The per-tick summary published to observers: population, economy, discoveries, timings, LLM use."""

from __future__ import annotations

from collections.abc import Mapping

from google.protobuf import timestamp_pb2

from emergence.v1 import common_pb2, event_pb2, run_pb2
from engine.core.state import WorldState

_ERA = {name.removeprefix("ERA_"): value for name, value in common_pb2.Era.items()}
_SEASON = {name.removeprefix("SEASON_"): value for name, value in common_pb2.Season.items()}
_WEATHER = {name.removeprefix("WEATHER_"): value for name, value in common_pb2.Weather.items()}
_TIME = {name.removeprefix("TIME_OF_DAY_"): value for name, value in common_pb2.TimeOfDay.items()}
_RESOURCE = {name.removeprefix("RESOURCE_"): value for name, value in common_pb2.Resource.items()}


def gini(values: list[int]) -> float:
    """Gini coefficient of non-negative holdings (0 = equal, → 1 = one holds everything)."""
    if not values or sum(values) == 0:
        return 0.0
    ordered = sorted(values)
    count = len(ordered)
    weighted = sum((index + 1) * value for index, value in enumerate(ordered))
    return (2 * weighted) / (count * sum(ordered)) - (count + 1) / count


def resource_totals(state: WorldState) -> list[run_pb2.ResourceTotals]:
    held: dict[str, list[int]] = {}

    def add(resource: str, slot: int, quantity: int) -> None:
        held.setdefault(resource, [0, 0, 0, 0])[slot] += quantity

    for agent in state.agents.values():
        if agent.alive:
            for resource, quantity in agent.inventory.items():
                add(resource, 0, quantity)
    for location in state.locations.values():
        for resource, node in location.nodes.items():
            add(resource, 1, node.available)
        for resource, quantity in location.ground.items():
            add(resource, 3, quantity)
    for structure in state.structures.values():
        for bucket in (structure.materials, structure.storage):
            for resource, quantity in bucket.items():
                add(resource, 2, quantity)
    for group in state.groups.values():
        for resource, quantity in group.store.items():
            add(resource, 2, quantity)
    return [
        run_pb2.ResourceTotals(
            resource=_RESOURCE.get(resource, 0),  # type: ignore[arg-type]
            held_by_agents=slots[0],
            at_nodes=slots[1],
            in_structures=slots[2],
            on_ground=slots[3],
        )
        for resource, slots in sorted(held.items())
    ]


def llm_figures(decisions: list[run_pb2.Decision]) -> run_pb2.LlmFigures:
    calls = [d.record for d in decisions if d.record.brain == run_pb2.BRAIN_KIND_LLM]
    latencies = sorted(record.latency_ms for record in calls)
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))] if latencies else 0.0
    return run_pb2.LlmFigures(
        calls=len(calls),
        tokens_in=sum(record.tokens_in for record in calls),
        tokens_out=sum(record.tokens_out for record in calls),
        cost_usd=sum(record.cost_usd for record in calls),
        p95_latency_ms=p95,
        fallbacks=sum(1 for d in decisions if d.record.fallback),
        timeouts=sum(1 for d in decisions if d.record.brain == run_pb2.BRAIN_KIND_ENGINE),
    )


def build_summary(
    run_id: str,
    state: WorldState,
    events: list[event_pb2.Event],
    decisions: list[run_pb2.Decision],
    alerts: list[run_pb2.Alert],
    timings: Mapping[str, float],
    ledger_digest: str,
) -> run_pb2.TickSummary:
    living = state.living_agents()
    births = sum(1 for e in events if e.type == event_pb2.EVENT_TYPE_AGENT_BORN and e.tick > 0)
    deaths = sum(1 for e in events if e.type == event_pb2.EVENT_TYPE_AGENT_DIED)
    wealth = [sum(agent.inventory.values()) for agent in living]
    committed = timestamp_pb2.Timestamp()
    committed.GetCurrentTime()
    return run_pb2.TickSummary(
        run_id=run_id,
        tick=state.tick,
        era=_ERA.get(state.era, 0),  # type: ignore[arg-type]
        season=_SEASON.get(state.season, 0),  # type: ignore[arg-type]
        weather=_WEATHER.get(state.weather, 0),  # type: ignore[arg-type]
        time_of_day=_TIME.get(state.time_of_day, 0),  # type: ignore[arg-type]
        alive=len(living),
        dead=len(state.agents) - len(living),
        births=births,
        deaths=deaths,
        average_age=sum(agent.age(state.tick) for agent in living) / len(living) if living else 0.0,
        resources=resource_totals(state),
        trades=sum(1 for e in events if e.type == event_pb2.EVENT_TYPE_TRADE_COMPLETED),
        gini=round(gini(wealth), 4),
        events=len(events),
        discoveries=[
            e.knowledge.knowledge
            for e in events
            if e.type == event_pb2.EVENT_TYPE_KNOWLEDGE_DISCOVERED and e.knowledge.first_in_run
        ],
        alerts=len(alerts),
        timings=run_pb2.PhaseTimings(**{k: v for k, v in timings.items() if k.endswith("_ms")}),
        llm=llm_figures(decisions),
        ledger_digest=ledger_digest,
        committed_at=committed,
    )
