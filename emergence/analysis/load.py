"""Reads what the analysis needs from an event store (SQLite or PostgreSQL): the thin shell."""

from __future__ import annotations

import contextlib
import logging

from emergence.analysis.history import (
    AgentAtEnd,
    DecisionFigures,
    RunAnalysis,
    RunHistory,
    analysed_event_types,
    analyze,
)
from emergence.analysis.society import (
    SOCIETY_EVENT_TYPES,
    SocietyHistory,
    chosen_action,
    society_metrics,
)
from emergence.mesh.errors import NotFound
from emergence.v1 import run_pb2
from engine.adapters.event_store import EventStore, open_event_store

log = logging.getLogger(__name__)


async def _agents_at(store: EventStore, run_id: str, tick: int) -> list[AgentAtEnd]:
    """The agents of the latest snapshot at or before `tick`; none (and a log line) if it
    cannot be read."""
    from engine.simulation import deserialize_state

    found = await store.snapshot_at_or_before(run_id, max(tick, 0))
    if found is None:
        return []
    try:
        state = deserialize_state(found[1])
    except Exception as error:  # a snapshot of another format: the report still has the rest
        log.warning("snapshot of tick %s of run %s unreadable: %s", found[0], run_id, error)
        return []
    return [
        AgentAtEnd(agent.id, agent.name, agent.alive, sum(agent.inventory.values()))
        for agent in sorted(state.agents.values(), key=lambda agent: agent.id)
    ]


async def load_history(store: EventStore, run_id: str) -> RunHistory:
    run = await store.get_run(run_id)
    if run is None:
        raise NotFound(f"no run {run_id[:80]!r} in {store.location}")
    rows = await store.tick_rows(run_id)
    events = await store.events(run_id, types=list(analysed_event_types()))
    decisions = [
        DecisionFigures(
            decision.tick,
            decision.record.brain,
            decision.record.latency_ms,
            decision.record.cost_usd,
            decision.record.tokens_in,
            decision.record.tokens_out,
        )
        for decision in await store.decisions(run_id)
    ]
    first_tick, last_tick = (rows[0].tick, rows[-1].tick) if rows else (0, 0)
    return RunHistory(
        run=run,
        summaries=[row.summary for row in rows],
        events=events,
        decisions=decisions,
        agents_at_end=await _agents_at(store, run_id, last_tick),
        agents_at_start=await _agents_at(store, run_id, first_tick),
    )


async def analyze_stored_run(store_url: str, run_id: str) -> RunAnalysis:
    """Open the store, read one run, close the store, analyse."""
    store = open_event_store(store_url)
    await store.open()
    try:
        history = await load_history(store, run_id)
    finally:
        with contextlib.suppress(Exception):
            await store.close()
    return analyze(history)


async def _free_goods(store: EventStore, run_id: str, tick: int) -> dict[str, frozenset[str]]:
    """Per place, the resources it has a natural source of in the first snapshot."""
    from engine.simulation import deserialize_state

    found = await store.snapshot_at_or_before(run_id, max(tick, 0))
    if found is None:
        return {}
    try:
        state = deserialize_state(found[1])
    except Exception as error:  # a snapshot of another format: trade shares are left out
        log.warning("snapshot of tick %s of run %s unreadable: %s", found[0], run_id, error)
        return {}
    return {
        location.id: frozenset(
            f"RESOURCE_{resource}" for resource, node in location.nodes.items() if node.maximum > 0
        )
        for location in state.locations.values()
    }


async def load_society_history(
    store: EventStore, run_id: str, until_tick: int | None = None
) -> SocietyHistory:
    """What the society metrics read: the events they count, the decisions, the population; with
    `until_tick`, only what happened up to that tick (the first part of a longer run)."""
    run = await store.get_run(run_id)
    if run is None:
        raise NotFound(f"no run {run_id[:80]!r} in {store.location}")
    rows = await store.tick_rows(run_id, to_tick=until_tick)
    first_tick, last_tick = (rows[0].tick, rows[-1].tick) if rows else (0, 0)
    events = await store.events(run_id, to_tick=until_tick, types=list(SOCIETY_EVENT_TYPES))
    decisions = await store.decisions(run_id, to_tick=until_tick)
    return SocietyHistory(
        events=events,
        decisions=[chosen_action(decision) for decision in decisions],
        population=[row.summary.alive for row in rows],
        population_ticks=[row.tick for row in rows],
        timed_out=sum(1 for d in decisions if d.record.brain == run_pb2.BRAIN_KIND_ENGINE),
        last_tick=last_tick,
        free_goods=await _free_goods(store, run_id, first_tick),
    )


async def society_metrics_of_stored_run(
    store_url: str, run_id: str, until_tick: int | None = None
) -> dict[str, float]:
    """Open the store, read one run, close the store, compute the society metrics."""
    store = open_event_store(store_url)
    await store.open()
    try:
        history = await load_society_history(store, run_id, until_tick)
    finally:
        with contextlib.suppress(Exception):
            await store.close()
    return society_metrics(history)
