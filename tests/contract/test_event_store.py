"""One contract suite for the event store, run against SQLite and the real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from emergence.mesh.errors import AlreadyExists
from emergence.v1 import event_pb2, run_pb2
from engine.adapters.event_store import (
    MAX_TICK,
    EventStore,
    Selection,
    TickRecord,
    open_event_store,
)


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_dsn")
    event_store = open_event_store(url)
    await event_store.open()
    try:
        yield event_store
    finally:
        await event_store.close()


def make_tick(run_id: str, tick: int, agents: int = 3, snapshot: bytes | None = None) -> TickRecord:
    events = [
        event_pb2.Event(
            id=f"e{tick}-0",
            run_id=run_id,
            tick=tick,
            sequence=0,
            type=event_pb2.EVENT_TYPE_TICK_START,
        )
    ]
    for index in range(agents):
        events.append(
            event_pb2.Event(
                id=f"e{tick}-{index + 1}",
                run_id=run_id,
                tick=tick,
                sequence=index + 1,
                type=event_pb2.EVENT_TYPE_ACTION_SUCCEEDED,
                agent_id=f"agent-{index}",
                location_id="riverbank",
            )
        )
    events.append(
        event_pb2.Event(
            id=f"e{tick}-end",
            run_id=run_id,
            tick=tick,
            sequence=agents + 1,
            type=event_pb2.EVENT_TYPE_TICK_END,
        )
    )
    decisions = [
        run_pb2.Decision(
            agent_id=f"agent-{i}",
            tick=tick,
            record=run_pb2.DecisionRecord(brain=run_pb2.BRAIN_KIND_HEURISTIC, latency_ms=1.5),
        )
        for i in range(agents)
    ]
    alerts = [
        run_pb2.Alert(id=f"a{tick}", run_id=run_id, tick=tick, kind=event_pb2.ALERT_KIND_FIRST)
    ]
    return TickRecord(
        run_id,
        tick,
        events,
        decisions,
        run_pb2.TickSummary(run_id=run_id, tick=tick, alive=agents),
        history_hash=f"hash-{tick}",
        ledger_digest=f"digest-{tick}",
        alerts=alerts,
        snapshot=snapshot,
    )


async def test_run_roundtrip_and_update(store: EventStore) -> None:
    run = run_pb2.Run(
        id="run-a", status=run_pb2.RUN_STATUS_CREATED, config=run_pb2.RunConfig(seed=7)
    )
    await store.save_run(run)
    run.status = run_pb2.RUN_STATUS_COMPLETED
    await store.save_run(run)
    loaded = await store.get_run("run-a")
    assert (
        loaded is not None
        and loaded.status == run_pb2.RUN_STATUS_COMPLETED
        and loaded.config.seed == 7
    )
    assert [r.id for r in await store.list_runs()] == ["run-a"]
    assert await store.get_run("missing") is None


async def test_ticks_events_decisions_and_filters(store: EventStore) -> None:
    for tick in range(3):
        await store.write_tick(
            make_tick("run-b", tick, snapshot=b"state-%d" % tick if tick != 1 else None)
        )
    events = await store.events("run-b")
    assert [(e.tick, e.sequence) for e in events] == [(t, s) for t in range(3) for s in range(5)]
    assert len(await store.events("run-b", from_tick=1, to_tick=1)) == 5
    only_agent = await store.events("run-b", agent_id="agent-2")
    assert {e.agent_id for e in only_agent} == {"agent-2"} and len(only_agent) == 3
    typed = await store.events("run-b", types=[event_pb2.EVENT_TYPE_TICK_END])
    assert [e.tick for e in typed] == [0, 1, 2]
    assert len(await store.events("run-b", limit=4)) == 4
    rows = await store.tick_rows("run-b")
    assert [(r.tick, r.history_hash, r.event_count) for r in rows] == [
        (t, f"hash-{t}", 5) for t in range(3)
    ]
    assert rows[2].summary.alive == 3
    assert len(await store.decisions("run-b", from_tick=2)) == 3
    assert (await store.decisions("run-b", agent_id="agent-1"))[0].record.latency_ms == 1.5
    assert await store.snapshot_at_or_before("run-b", 1) == (0, b"state-0")
    assert await store.snapshot_at_or_before("run-b", 5) == (2, b"state-2")
    assert await store.last_tick("run-b") == 2
    assert await store.last_tick("other") == -1
    assert [a.id for a in await store.alerts("run-b", from_tick=1)] == ["a1", "a2"]


async def test_a_tick_is_written_once_and_truncate_resumes(store: EventStore) -> None:
    await store.write_tick(make_tick("run-c", 0))
    await store.write_tick(make_tick("run-c", 1))
    with pytest.raises(AlreadyExists, match="tick 1 of run run-c is already stored"):
        await store.write_tick(make_tick("run-c", 1))
    # the failed write left nothing half-written
    assert len(await store.events("run-c", from_tick=1)) == 5
    await store.truncate_after("run-c", 0)
    assert await store.last_tick("run-c") == 0
    assert await store.events("run-c", from_tick=1) == []
    await store.write_tick(make_tick("run-c", 1))
    assert await store.last_tick("run-c") == 1


async def test_pages_continue_after_their_key_with_every_filter_in_sql(store: EventStore) -> None:
    for tick in range(4):
        record = make_tick("run-p", tick, agents=3)
        record.events[2].location_id = "hilltop"  # agent-1 is elsewhere
        await store.write_tick(record)
    everything = await store.events("run-p")
    keys: list[tuple[int, int]] = []
    selection = Selection()
    while page := await store.events_page("run-p", selection, 4):
        keys += [(e.tick, e.sequence) for e in page]
        selection = Selection(after=(page[-1].tick, page[-1].sequence))
    assert keys == [(e.tick, e.sequence) for e in everything]

    hill = await store.events_page(
        "run-p", Selection(from_tick=1, to_tick=2, location_ids=["hilltop"]), 100
    )
    assert [(e.tick, e.agent_id) for e in hill] == [(1, "agent-1"), (2, "agent-1")]
    assert await store.events_page("run-p", Selection(location_ids=[]), 100) == []
    typed = await store.events_page(
        "run-p",
        Selection(types=[event_pb2.EVENT_TYPE_TICK_END], after=(1, 0), newest_first=False),
        100,
    )
    assert [e.tick for e in typed] == [1, 2, 3]
    newest = await store.events_page(
        "run-p", Selection(agent_id="agent-2", newest_first=True, after=(3, 0)), 2
    )
    assert [e.tick for e in newest] == [2, 1]

    decided = await store.decisions_page(
        "run-p", Selection(after=(2, "agent-1"), key_columns=("tick", "agent_id")), 3
    )
    assert [(d.tick, d.agent_id) for d in decided] == [
        (2, "agent-2"),
        (3, "agent-0"),
        (3, "agent-1"),
    ]
    assert [row.tick for row in await store.tick_rows("run-p", 1, 2)] == [1, 2]
    assert [row.tick for row in await store.tick_rows("run-p", 2, MAX_TICK)] == [2, 3]
