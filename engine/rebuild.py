"""Rebuilding a run's world from its stored history: a snapshot plus the decisions after it.

Used by `emergence replay` (from tick 0, to prove the history hash) and by an engine resuming a
run after a crash (from the latest snapshot, to continue where the store ends). The world rules
are deterministic, so the stored decisions and operator actions are all the input there is; the
shell's own facts (ledger anomalies, alerts, constructs, the end) are taken from the store.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field

from emergence.history import HistoryHasher
from emergence.mesh.errors import FailedPrecondition, NotFound
from emergence.v1 import event_pb2, run_pb2
from engine.adapters.event_store import EventStore
from engine.constructs import ConstructDetector
from engine.core import tick as core_tick
from engine.core.state import WorldState
from engine.simulation import (
    SHELL_EVENT_TYPES,
    apply_injected_events,
    assemble_events,
    deserialize_state,
    order_submissions,
)


@dataclass
class Rebuilt:
    state: WorldState
    tick: int
    history_hash: str  # recomputed over the replayed ticks
    stored_history_hash: str  # what the store recorded for that tick
    replayed_ticks: int
    # What the agents' actions did in the last replayed tick (domain results): a resumed engine
    # hands them to runners again, which may have missed them when the old engine died.
    last_results: dict[str, object] = field(default_factory=dict)

    @property
    def matches(self) -> bool:
        return self.history_hash == self.stored_history_hash


async def rebuild(
    store: EventStore,
    run_id: str,
    *,
    from_genesis: bool,
    detector: ConstructDetector | None = None,
    until_tick: int | None = None,
) -> Rebuilt:
    """The world at the last stored tick (or at `until_tick`), replayed from the run's first
    tick (0, or a fork's first) or from the latest snapshot before it.

    With a `detector`, the replay starts at the first tick and the detector watches every tick
    as the engine's did, so a resumed run forms and dissolves its constructs exactly when an
    uninterrupted one would (its windows reach hundreds of ticks back, past any snapshot).
    """
    if detector is not None:
        from_genesis = True
    last = await store.last_tick(run_id)
    if last < 0:
        raise NotFound(f"run {run_id} has no stored ticks")
    if until_tick is not None:
        if until_tick > last:
            raise NotFound(f"run {run_id} has ticks up to {last}, not {until_tick}")
        last = until_tick
    first = (await store.tick_rows(run_id, 0))[0].tick if from_genesis else last
    snapshot = await store.snapshot_at_or_before(run_id, first)
    if snapshot is None:
        raise NotFound(f"run {run_id} has no snapshot at or before tick {first} to start from")
    start, blob = snapshot
    state = deserialize_state(blob)
    rows = [row for row in await store.tick_rows(run_id, start) if row.tick <= last]
    if not rows or rows[0].tick != start:
        raise FailedPrecondition(f"run {run_id}: the tick row of snapshot tick {start} is missing")
    if start == 0:
        # From genesis, tick 0 itself is recomputed too, not taken on trust.
        hasher = HistoryHasher()
        hasher.add_tick(await store.events(run_id, 0, 0))
        if detector is not None:
            # Genesis holds births and stocks only: nothing the detector's windows count.
            detector.observe(state, 0, [])
    else:
        hasher = HistoryHasher(rows[0].history_hash)
    events = await store.events(run_id, start + 1, last)
    by_tick: dict[int, list[event_pb2.Event]] = {}
    for event in events:
        by_tick.setdefault(event.tick, []).append(event)
    decisions: dict[int, dict[str, run_pb2.Decision]] = {}
    for decision in await store.decisions(run_id, start + 1, last):
        decisions.setdefault(decision.tick, {})[decision.agent_id] = decision
    results: dict[str, object] = {}
    for row in rows[1:]:
        hasher.add_tick(
            replay_tick(
                state, run_id, row.tick, row.ledger_digest, by_tick, decisions, detector, results
            )
        )
    return Rebuilt(
        state, rows[-1].tick, hasher.hexdigest, rows[-1].history_hash, len(rows) - 1, results
    )


def replay_tick(
    state: WorldState,
    run_id: str,
    tick: int,
    ledger_digest: str,
    stored: dict[int, list[event_pb2.Event]],
    decisions: dict[int, dict[str, run_pb2.Decision]],
    detector: ConstructDetector | None = None,
    results: dict[str, object] | None = None,
) -> list[event_pb2.Event]:
    """One tick again, as the engine ran it: wake, operator actions, perceive, resolve.
    `results`, when given, receives the tick's action results."""
    wake = core_tick.wake(state)
    if state.tick != tick:
        raise FailedPrecondition(f"replay reached tick {state.tick} where the store has {tick}")
    this_tick = stored.get(tick, [])
    operator = [e for e in this_tick if e.type == event_pb2.EVENT_TYPE_OPERATOR_ACTION]
    injected = apply_injected_events(state, operator)
    core_tick.perceive(state)
    resolved = core_tick.resolve(
        state, order_submissions(state.seed, tick, decisions.get(tick, {}))
    )
    shell = [e for e in this_tick if e.type in SHELL_EVENT_TYPES]
    domain = [*wake.events, *injected.events, *resolved.events]
    if results is not None:
        results.clear()
        results.update(resolved.results)
    if detector is not None:
        detector.observe(state, tick, domain)
    return assemble_events(state, run_id, tick, domain, operator, shell, ledger_digest)


@dataclass
class StateAtTick:
    state: WorldState
    snapshot_tick: int  # the tick the replay started from (a snapshot or a given state)
    events_replayed: int


async def state_at(
    store: EventStore, run_id: str, tick: int, start: tuple[int, WorldState] | None = None
) -> StateAtTick:
    """The world at the end of `tick`: the latest snapshot at or before it plus replay.

    `start` is a world the caller already holds at an earlier tick (never changed here); it is
    used instead of the snapshot when it is closer. Only state is rebuilt: no hash is checked.
    The replay runs in a worker thread so a server keeps answering other calls meanwhile.
    """
    snapshot = await store.snapshot_at_or_before(run_id, tick)
    if start is not None and start[0] <= tick and (snapshot is None or start[0] >= snapshot[0]):
        begin, blob, held = start[0], b"", start[1]
    elif snapshot is not None:
        begin, blob, held = snapshot[0], snapshot[1], None
    else:
        raise NotFound(f"run {run_id} has no snapshot at or before tick {tick}")
    rows = await store.tick_rows(run_id, begin + 1, tick)
    events = await store.events(run_id, begin + 1, tick)
    by_tick: dict[int, list[event_pb2.Event]] = {}
    for event in events:
        by_tick.setdefault(event.tick, []).append(event)
    decisions: dict[int, dict[str, run_pb2.Decision]] = {}
    for decision in await store.decisions(run_id, begin + 1, tick):
        decisions.setdefault(decision.tick, {})[decision.agent_id] = decision

    def replay() -> WorldState:
        state = copy.deepcopy(held) if held is not None else deserialize_state(blob)
        for row in rows:
            replay_tick(state, run_id, row.tick, row.ledger_digest, by_tick, decisions)
        return state

    state = await asyncio.to_thread(replay)
    return StateAtTick(state, begin, len(events))
