"""An engine that sends the ledger a wrong entry for one tick is caught, recorded and never fixed.

The real embedded mesh runs (engine, ledger and runner gRPC servers over loopback, real stores)
while the engine core's output for one tick is tampered with:

- "from the world": one extra CRAFT entry gives an agent a tool the engine never gave it. The
  ledger's rules accept it, but its balance digest no longer matches the engine's: DIGEST_MISMATCH.
- "from nowhere": one extra GATHER takes far more wood out of a node than it holds. The ledger
  refuses the whole tick (INSUFFICIENT_BALANCE) and the engine ends the run as failed.

Either way the tick's history holds a LedgerAnomaly event, the store holds a critical alert, the
ledger keeps what it was sent (or nothing of the refused tick), and `emergence verify` exits 1
naming the anomaly.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from emergence.audit import replay_run
from emergence.embedded import RunSummary, embedded_run
from emergence.mesh.settings import load_settings
from emergence.v1 import event_pb2, run_pb2
from engine.adapters.event_store import open_event_store
from engine.core.entries import Entry
from engine.core.state import WorldState
from engine.simulation import PreparedTick, Simulation, TickReport
from ledger_service.adapters.store import HistoryQuery, open_store

ROOT = Path(__file__).resolve().parents[2]
AGENTS = 6
TICKS = 8
BAD_TICK = 4
TAMPER_MEMO = "tampered in test"


def tool_from_the_world(state: WorldState) -> Entry:
    """A unit the engine never created: the ledger accepts the shape, the digests disagree.
    (A regrown unit: a lone craft output would be refused as an unbacked mint.)"""
    node = sorted(state.locations)[0]
    return Entry("REGENERATION", "WORLD", "", "LOCATION_NODE", node, "WOOD", 1, memo=TAMPER_MEMO)


def wood_from_nowhere(state: WorldState) -> Entry:
    """More wood than the node has: the ledger refuses the tick."""
    agent = state.living_agent_ids()[0]
    node = sorted(state.locations)[0]
    return Entry("GATHER", "LOCATION_NODE", node, "AGENT", agent, "WOOD", 10**9, memo=TAMPER_MEMO)


Tamper = Callable[[WorldState], Entry]


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """ "" for the embedded SQLite files under the run folder, else a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return ""
    return str(request.getfixturevalue("postgres_dsn"))


async def tampered_run(
    monkeypatch: pytest.MonkeyPatch, out: Path, database_url: str, tamper: Tamper
) -> RunSummary:
    original = Simulation._commit

    async def commit(self: Simulation, prepared: PreparedTick) -> TickReport:
        if prepared.tick == BAD_TICK:
            prepared.domain_entries = [*prepared.domain_entries, tamper(prepared.state)]
        return await original(self, prepared)

    monkeypatch.setattr(Simulation, "_commit", commit)
    environment = {"DATABASE_URL": database_url} if database_url else {}
    settings = load_settings(
        environ=environment,
        overrides={
            "run.agents": AGENTS,
            "run.ticks": TICKS,
            "run.seed": 7,
            "run.out": str(out),
        },
    )
    return await embedded_run(settings, progress=False)


async def verify_cli(summary: RunSummary, out: Path, database_url: str) -> tuple[int, str]:
    """`emergence verify RUN` as a user types it, in its own process."""
    command = [sys.executable, "-m", "emergence.cli", "verify", summary.run_id, "--out", str(out)]
    if database_url:
        command += ["--store", database_url]
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def stored_events(summary: RunSummary, event_type: int) -> list[event_pb2.Event]:
    store = open_event_store(summary.store)
    await store.open()
    try:
        return await store.events(summary.run_id, types=[event_type])
    finally:
        await store.close()


async def stored_history(
    summary: RunSummary,
) -> tuple[run_pb2.Run, list[event_pb2.Event], list[run_pb2.Alert]]:
    store = open_event_store(summary.store)
    await store.open()
    try:
        run = await store.get_run(summary.run_id)
        assert run is not None
        anomalies = await store.events(summary.run_id, types=[event_pb2.EVENT_TYPE_LEDGER_ANOMALY])
        return run, anomalies, await store.alerts(summary.run_id)
    finally:
        await store.close()


def assert_alerted(alerts: list[run_pb2.Alert], code_hint: str) -> None:
    at_bad = [a for a in alerts if a.tick == BAD_TICK]
    assert at_bad, f"no alert stored for tick {BAD_TICK}: {alerts}"
    assert all(a.kind == event_pb2.ALERT_KIND_LEDGER_ANOMALY for a in at_bad)
    assert all(a.severity == event_pb2.ALERT_SEVERITY_CRITICAL for a in at_bad)
    assert any(code_hint in a.message for a in at_bad), [a.message for a in at_bad]
    assert not [a for a in alerts if a.tick < BAD_TICK], "alerts before the tampered tick"


async def test_a_unit_from_the_world_breaks_the_digest_and_stays_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> None:
    summary = await tampered_run(monkeypatch, tmp_path, database_url, tool_from_the_world)
    run, anomalies, alerts = await stored_history(summary)

    # The engine went on (a digest mismatch is reported, not fatal) ...
    assert summary.ticks == TICKS and run.status == run_pb2.RUN_STATUS_COMPLETED
    # the run's own summary says so too (and `emergence run` exits 1 on it)
    assert summary.ledger_anomalies == len(anomalies) > 0
    # ... and every tick from the tampered one on says the two books disagree: nothing quietly
    # brought them back together.
    assert sorted({e.tick for e in anomalies}) == list(range(BAD_TICK, TICKS + 1))
    first = [e for e in anomalies if e.tick == BAD_TICK]
    assert [e.ledger_anomaly.code for e in first] == ["DIGEST_MISMATCH"]
    details = first[0].ledger_anomaly
    assert details.engine_digest and details.ledger_digest
    assert details.engine_digest != details.ledger_digest
    assert_alerted(alerts, "balance digest")
    # ... while the alert is raised once, when the books first part, not again on every tick.
    ledger_alerts = [a for a in alerts if a.kind == event_pb2.ALERT_KIND_LEDGER_ANOMALY]
    assert [a.tick for a in ledger_alerts] == [BAD_TICK]
    # The alert is a fact of the history too, and a replay of the run reproduces it all.
    raised = await stored_events(summary, event_pb2.EVENT_TYPE_ALERT_RAISED)
    assert [(e.tick, e.alert.kind) for e in raised] == [
        (BAD_TICK, event_pb2.ALERT_KIND_LEDGER_ANOMALY)
    ]
    replayed = await replay_run(summary.run_id, store=summary.store, out=str(tmp_path))
    assert replayed["matches"], replayed

    # The ledger keeps the unit it was sent; the engine's world never had it.
    ledger = open_store(summary.ledger_store)
    await ledger.open()
    try:
        rows = await ledger.history(HistoryQuery(summary.run_id, BAD_TICK, BAD_TICK))
        tampered = [row.entry for row in rows if row.entry.memo == TAMPER_MEMO]
        assert [(e.entry_type, e.resource, e.quantity) for e in tampered] == [
            ("REGENERATION", "WOOD", 1)
        ]
    finally:
        await ledger.close()

    code, output = await verify_cli(summary, tmp_path, database_url)
    assert code == 1, output
    assert "PROBLEMS FOUND" in output
    assert f"tick {BAD_TICK}: LedgerAnomaly DIGEST_MISMATCH" in output, output
    # verify also finds it without the engine's word: the saved world and the ledger differ.
    assert "FAIL world at the last snapshot holds what the ledger holds" in output, output


async def test_a_unit_from_nowhere_is_refused_and_fails_the_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> None:
    summary = await tampered_run(monkeypatch, tmp_path, database_url, wood_from_nowhere)
    run, anomalies, alerts = await stored_history(summary)

    # The run stops at the refused tick and is recorded as failed, not completed.
    assert summary.ticks == BAD_TICK
    assert run.status == run_pb2.RUN_STATUS_FAILED
    assert run.end_reason == run_pb2.END_REASON_ERROR
    assert [(e.tick, e.ledger_anomaly.code) for e in anomalies] == [
        (BAD_TICK, "REJECTED_INSUFFICIENT_BALANCE")
    ]
    assert "cannot move 1000000000" in anomalies[0].ledger_anomaly.message
    assert_alerted(alerts, "ledger refused the tick")

    # Nothing of the refused tick reached the ledger.
    ledger = open_store(summary.ledger_store)
    await ledger.open()
    try:
        assert (await ledger.load_run(summary.run_id)).last_tick == BAD_TICK - 1
    finally:
        await ledger.close()

    code, output = await verify_cli(summary, tmp_path, database_url)
    assert code == 1, output
    assert f"tick {BAD_TICK}: LedgerAnomaly REJECTED_INSUFFICIENT_BALANCE" in output, output
    assert f"ledger ends at tick {BAD_TICK - 1}, history at tick {BAD_TICK}" in output, output
