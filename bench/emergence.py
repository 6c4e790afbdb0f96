"""The emergence benchmark: does a society appear? Counts come from the stored history only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emergence.v1 import event_pb2, run_pb2
from engine.adapters.event_store import open_event_store

# What the society must reach (issue thresholds for 20 agents x 2 000 ticks, heuristic brain).
TARGETS: dict[str, int] = {
    "alive_at_1000": 10,
    "alive_at_end": 10,
    "trades_completed": 100,
    "structures_built": 15,
    "starting_regions_visited": 3,
    "hidden_locations_visited": 1,
    "teachings": 10,
    "discoveries": 3,
    "groups_formed": 2,
    "births": 3,
    "thefts": 1,
    "prayers": 1,
}


@dataclass
class SocietyCounts:
    values: dict[str, int]

    def meets(self) -> dict[str, bool]:
        return {key: self.values.get(key, 0) >= target for key, target in TARGETS.items()}


async def count_society(store_url: str, run_id: str) -> dict[str, Any]:
    """Count the society's milestones from the event store and the final snapshot."""
    from engine.simulation import deserialize_state

    store = open_event_store(store_url)
    await store.open()
    try:
        rows = await store.tick_rows(run_id)
        events = await store.events(run_id)
        decisions = await store.decisions(run_id)
        last = await store.snapshot_at_or_before(run_id, rows[-1].tick if rows else 0)
    finally:
        await store.close()
    state = deserialize_state(last[1]) if last else None
    counts: dict[str, int] = {}

    def count(event_type: int, predicate: Any = None) -> int:
        return sum(
            1 for e in events if e.type == event_type and (predicate is None or predicate(e))
        )

    alive_by_tick = {row.tick: row.summary.alive for row in rows}
    counts["alive_at_1000"] = alive_by_tick.get(
        1000, alive_by_tick.get(max(alive_by_tick, default=0), 0)
    )
    counts["alive_at_end"] = alive_by_tick.get(max(alive_by_tick, default=0), 0)
    counts["trades_completed"] = count(event_pb2.EVENT_TYPE_TRADE_COMPLETED)
    counts["structures_built"] = count(event_pb2.EVENT_TYPE_STRUCTURE_BUILT)
    counts["teachings"] = count(
        event_pb2.EVENT_TYPE_KNOWLEDGE_TAUGHT, lambda e: e.knowledge.success
    )
    counts["discoveries"] = count(
        event_pb2.EVENT_TYPE_KNOWLEDGE_DISCOVERED,
        lambda e: (
            e.knowledge.method
            not in (
                event_pb2.DISCOVERY_METHOD_SEED,
                event_pb2.DISCOVERY_METHOD_TEACHING,
                event_pb2.DISCOVERY_METHOD_INHERITANCE,
            )
        ),
    )
    counts["first_discoveries"] = count(
        event_pb2.EVENT_TYPE_KNOWLEDGE_DISCOVERED, lambda e: e.knowledge.first_in_run
    )
    counts["groups_formed"] = count(event_pb2.EVENT_TYPE_GROUP_FORMED)
    counts["births"] = count(
        event_pb2.EVENT_TYPE_AGENT_BORN, lambda e: e.agent_born.origin == "birth"
    )
    counts["deaths"] = count(event_pb2.EVENT_TYPE_AGENT_DIED)
    counts["thefts"] = count(event_pb2.EVENT_TYPE_THEFT_OCCURRED)
    counts["fights"] = count(event_pb2.EVENT_TYPE_COMBAT_RESOLVED)
    counts["prayers"] = count(event_pb2.EVENT_TYPE_PRAYER)
    counts["messages"] = count(event_pb2.EVENT_TYPE_MESSAGE_SENT)
    counts["ledger_anomalies"] = count(event_pb2.EVENT_TYPE_LEDGER_ANOMALY)
    for category in ("RELIGION", "GOVERNANCE", "FAMILY", "ECONOMIC"):
        value = event_pb2.ConstructCategory.Value(f"CONSTRUCT_CATEGORY_{category}")
        counts[f"constructs_formed_{category.lower()}"] = count(
            event_pb2.EVENT_TYPE_SOCIAL_CONSTRUCT_FORMED,
            lambda e, v=value: e.construct.category == v,
        )
    visited = {e.location_id for e in events if e.location_id and e.agent_id}
    visited |= {e.movement.to_location_id for e in events if e.WhichOneof("details") == "movement"}
    starting_regions, hidden = set(), set()
    if state is not None:
        for location_id in visited:
            location = state.locations.get(location_id)
            if location is None:
                continue
            if location.hidden:
                hidden.add(location_id)
            else:
                starting_regions.add(location.region)
    counts["starting_regions_visited"] = len(starting_regions)
    counts["hidden_locations_visited"] = len(hidden)
    counts["decisions"] = len(decisions)
    counts["timeouts"] = sum(1 for d in decisions if d.record.brain == run_pb2.BRAIN_KIND_ENGINE)
    counts["fallbacks"] = sum(1 for d in decisions if d.record.fallback)
    counts["llm_decisions"] = sum(1 for d in decisions if d.record.brain == run_pb2.BRAIN_KIND_LLM)
    counts["decisions_with_latency"] = sum(1 for d in decisions if d.record.latency_ms > 0)
    counts["containment_flags"] = sum(1 for d in decisions if d.record.containment_flags)
    return counts
