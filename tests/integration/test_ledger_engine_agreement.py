"""The engine core and the ledger book agree: every entry the engine writes over a simulated
stretch is accepted, and the two balance digests are equal after every tick."""

from __future__ import annotations

import random
from collections.abc import Sequence

from engine.core import tick
from engine.core.config import WorldConfig
from engine.core.entries import Entry as EngineEntry
from engine.core.entries import state_digest
from engine.core.world import new_world
from ledger_service.core import Book, Entry, Replay
from tests.sim.policy import survival_action

TICKS = 60


def to_ledger(entries: Sequence[EngineEntry], at_tick: int) -> list[Entry]:
    return [
        Entry(
            at_tick,
            e.entry_type,
            e.from_type,
            e.from_id,
            e.to_type,
            e.to_id,
            e.resource,
            e.quantity,
            e.memo,
            e.correlation_id,
        )
        for e in entries
    ]


def commit(book: Book, replay: Replay, at_tick: int, entries: list[Entry], digest: str) -> None:
    plan = book.plan_tick(at_tick, entries)
    assert plan.accepted, plan.rejections[:3]
    assert plan.anomalies == ()
    assert plan.digest == digest, f"tick {at_tick}: engine and ledger disagree"
    book.apply(plan)
    replay.add_tick(at_tick, entries)


def test_engine_entries_post_and_digests_match_every_tick() -> None:
    state, _, genesis = new_world(WorldConfig(), seed=11, agents=12)
    book, replay = Book(), Replay()
    commit(book, replay, 0, to_ledger(genesis, 0), state_digest(state))
    for _ in range(TICKS):
        woke = tick.wake(state)
        perceptions = tick.perceive(state)
        rng = random.Random(f"{state.seed}:{state.tick}")
        submissions = [
            tick.Submission(agent_id, survival_action(perceptions[agent_id], rng), order)
            for order, agent_id in enumerate(sorted(perceptions))
        ]
        resolved = tick.resolve(state, submissions)
        entries = to_ledger([*woke.entries, *resolved.entries], state.tick)
        commit(book, replay, state.tick, entries, state_digest(state))
    result = replay.finish(book.balances)
    assert result.ok, result.anomalies[:3]
    assert state.tick == TICKS and result.entries_checked > TICKS
