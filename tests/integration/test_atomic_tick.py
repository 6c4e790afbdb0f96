"""A tick is committed exactly once: outages between the ledger and the store are held and retried,
the world in memory never runs ahead of the store, and the history is the one a quiet run makes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from emergence.audit import audit_run
from emergence.embedded import RunSummary, embedded_run
from emergence.mesh.errors import InvalidArgument, Unavailable
from emergence.mesh.settings import load_settings
from emergence.v1 import event_pb2
from engine.adapters.event_store import TickRecord, open_event_store
from engine.adapters.ledger_client import LedgerClient
from engine.adapters.sqlite_store import SqliteEventStore
from engine.simulation import Simulation

AGENTS, TICKS, SEED = 8, 40, 11


async def _run(out: Path) -> RunSummary:
    settings = load_settings(
        environ={},
        overrides={
            "run.agents": AGENTS,
            "run.ticks": TICKS,
            "run.seed": SEED,
            "run.out": str(out),
            "run.snapshot_every_ticks": 10,
        },
    )
    return await embedded_run(settings, progress=False)


@pytest.fixture(scope="module")
def quiet_hash(tmp_path_factory: pytest.TempPathFactory) -> str:
    import asyncio

    return asyncio.run(_run(tmp_path_factory.mktemp("quiet"))).history_hash


async def test_outages_around_the_commit_are_held_and_change_no_history(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, quiet_hash: str
) -> None:
    original_write = SqliteEventStore.write_tick
    original_commit = LedgerClient.commit_tick
    attempts: Counter[tuple[str, int]] = Counter()

    async def flaky_write(self: SqliteEventStore, record: TickRecord) -> None:
        attempts["write", record.tick] += 1
        if record.tick == 12 and attempts["write", 12] < 4:
            raise Unavailable("PostgreSQL unavailable: connection refused")
        await original_write(self, record)
        if record.tick == 20 and attempts["write", 20] == 1:
            # Committed, but the reply is lost: the retry must see its own tick and go on.
            raise Unavailable("PostgreSQL unavailable: connection reset after COMMIT")

    async def flaky_commit(
        self: LedgerClient, run_id: str, tick: int, *rest: object, **options: object
    ) -> object:
        attempts["commit", tick] += 1
        if tick == 7 and attempts["commit", 7] < 3:
            raise Unavailable("Ledger.CommitTick: ledger unavailable")
        return await original_commit(self, run_id, tick, *rest, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(SqliteEventStore, "write_tick", flaky_write)
    monkeypatch.setattr(LedgerClient, "commit_tick", flaky_commit)
    summary = await _run(tmp_path)

    assert summary.ticks == TICKS and summary.history_hash == quiet_hash
    report = await audit_run(summary.run_id, out=str(tmp_path))
    assert report.ok, report.lines()
    # Each healed outage is an alert of the run (not an event of the world, which is unchanged).
    store = open_event_store(summary.store)
    await store.open()
    try:
        outages = [
            a
            for a in await store.alerts(summary.run_id)
            if a.kind == event_pb2.ALERT_KIND_SERVICE_OUTAGE
        ]
        assert await store.unpublished_ticks(summary.run_id) == []
    finally:
        await store.close()
    assert {a.tick for a in outages} == {7, 12, 20}
    assert attempts["write", 20] == 2  # the lost reply cost one retry, and no second copy
    assert any("ledger" in a.message for a in outages)


async def test_a_failed_commit_leaves_the_world_as_stored_and_the_same_tick_is_retried(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, quiet_hash: str
) -> None:
    """A non-transient error fails the step; memory stays at the stored tick; the next step
    commits that very tick (never tick N+1 over a missing tick N)."""
    original_write = SqliteEventStore.write_tick
    failures = {"left": 1}
    seen: list[tuple[int, int]] = []

    async def refusing_write(self: SqliteEventStore, record: TickRecord) -> None:
        if record.tick == 5 and failures["left"]:
            failures["left"] -= 1
            raise InvalidArgument("a value the store refuses")
        await original_write(self, record)

    original_step = Simulation.step

    async def step(self: Simulation) -> object:
        try:
            return await original_step(self)
        except InvalidArgument:
            seen.append((self.state.tick, await self.store.last_tick(self.run.id)))
            return await original_step(self)

    monkeypatch.setattr(SqliteEventStore, "write_tick", refusing_write)
    monkeypatch.setattr(Simulation, "step", step)
    summary = await _run(tmp_path)
    # When the write failed, memory held tick 4, exactly what the store held.
    assert seen == [(4, 4)]
    assert summary.history_hash == quiet_hash
    report = await audit_run(summary.run_id, out=str(tmp_path))
    assert report.ok, report.lines()
