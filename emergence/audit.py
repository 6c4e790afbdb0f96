"""Auditing a stored run: ledger conservation, event contiguity, history hash, snapshots; and replay."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from emergence.history import HistoryHasher
from emergence.mesh.errors import ConfigurationError, NotFound, Unavailable
from emergence.mesh.redact import redact_url
from emergence.v1 import event_pb2
from engine.adapters.event_store import EventStore, open_event_store

# LedgerAnomaly events named one by one in the problems; the rest are counted.
NAMED_ANOMALIES = 5


@dataclass
class AuditReport:
    run_id: str
    checks: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(self.checks.values()) and not self.problems

    def check(self, name: str, passed: bool, problem: str = "") -> None:
        self.checks[name] = self.checks.get(name, True) and passed
        if not passed and problem:
            self.problems.append(problem)

    def lines(self) -> list[str]:
        out = [f"run {self.run_id}: {'OK' if self.ok else 'PROBLEMS FOUND'}"]
        out += [f"  {'ok  ' if passed else 'FAIL'} {name}" for name, passed in self.checks.items()]
        out += [f"  {key}: {value}" for key, value in self.facts.items()]
        out += [f"  problem: {problem}" for problem in self.problems[:50]]
        if len(self.problems) > 50:
            out.append(f"  ... and {len(self.problems) - 50} more problems")
        return out

    def as_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "ok": self.ok,
            "checks": self.checks,
            "problems": self.problems,
            "facts": self.facts,
        }


def locate_run(
    run: str, store: str | None, ledger_store: str | None, out: str
) -> tuple[str, str, str]:
    """Return (run id, event store URL, ledger store URL) for a run id or a run folder."""
    if store:
        return run, store, ledger_store or store
    folder = Path(run) if Path(run).is_dir() else Path(out) / run
    history = folder / "history.sqlite"
    if not history.is_file():
        # A run of the full mesh lives in the database the services were given.
        database_url = os.environ.get("DATABASE_URL", "")
        if database_url:
            return run, database_url, ledger_store or database_url
        raise ConfigurationError(
            "run",
            f"no stored run {run[:80]!r} under {out[:80]}/",
            hint="pass a run id printed by `emergence run`, or --store URL (or DATABASE_URL)"
            " for a PostgreSQL store",
        )
    ledger = ledger_store or f"sqlite:///{folder / 'ledger.sqlite'}"
    return folder.name, f"sqlite:///{history}", ledger


async def _check_events(store: EventStore, run_id: str, report: AuditReport) -> None:
    rows = await store.tick_rows(run_id)
    report.facts["ticks stored"] = len(rows)
    # A run starts at tick 0; a fork at its fork tick, whose hash chain starts there afresh.
    start = rows[0].tick if rows else 0
    report.check(
        f"ticks contiguous from {start}",
        [r.tick for r in rows] == list(range(start, start + len(rows))),
        f"tick rows are not contiguous from {start}",
    )
    hasher = HistoryHasher()
    anomalies: list[event_pb2.Event] = []
    events = await store.events(run_id)
    by_tick: dict[int, list[event_pb2.Event]] = {}
    for event in events:
        by_tick.setdefault(event.tick, []).append(event)
    for row in rows:
        tick_events = by_tick.get(row.tick, [])
        sequences = [e.sequence for e in tick_events]
        contiguous = (
            sequences == list(range(len(tick_events))) and len(tick_events) == row.event_count
        )
        framed = (
            bool(tick_events)
            and tick_events[0].type == event_pb2.EVENT_TYPE_TICK_START
            and tick_events[-1].type == event_pb2.EVENT_TYPE_TICK_END
        )
        report.check(
            "events contiguous per tick",
            contiguous,
            f"tick {row.tick}: events {len(tick_events)} / expected {row.event_count}, not contiguous",
        )
        report.check(
            "every tick framed by TickStart and TickEnd",
            framed,
            f"tick {row.tick}: not framed by TickStart/TickEnd",
        )
        hashed = hasher.add_tick(tick_events)
        report.check(
            "history hash recomputed equals stored",
            hashed == row.history_hash,
            f"tick {row.tick}: history hash {hashed[:12]} differs from stored {row.history_hash[:12]}",
        )
        anomalies.extend(e for e in tick_events if e.type == event_pb2.EVENT_TYPE_LEDGER_ANOMALY)
    first = f", the first at tick {anomalies[0].tick}" if anomalies else ""
    report.check(
        "no ledger anomaly recorded",
        not anomalies,
        f"{len(anomalies)} LedgerAnomaly event(s) in the history{first}",
    )
    for event in anomalies[:NAMED_ANOMALIES]:
        details = event.ledger_anomaly
        report.problems.append(
            f"tick {event.tick}: LedgerAnomaly {details.code}: {details.message}"
        )
    report.facts["events"] = len(events)
    report.facts["history_hash"] = hasher.hexdigest
    report.facts["last ledger digest (engine side)"] = rows[-1].ledger_digest[:16] if rows else ""


async def _check_snapshots(
    store: EventStore, run_id: str, last_tick: int, report: AuditReport
) -> tuple[int, str] | None:
    """Check every snapshot restores; return (tick, balance digest) of the latest that does."""
    from engine.core.entries import state_digest
    from engine.simulation import deserialize_state
    from engine.snapshot import SnapshotFormatError

    tick = last_tick
    checked = 0
    latest: tuple[int, str] | None = None
    while tick >= 0:
        found = await store.snapshot_at_or_before(run_id, tick)
        if found is None:
            break
        snapshot_tick, payload = found
        problem = f"snapshot at tick {snapshot_tick} does not restore to that tick"
        try:
            state = deserialize_state(payload)
            good = state.tick == snapshot_tick
            if good and latest is None:
                latest = (snapshot_tick, state_digest(state))
        except SnapshotFormatError as error:  # an old pickle, or not a snapshot at all
            good, problem = False, f"snapshot at tick {snapshot_tick}: {error}"
        except Exception:  # a corrupt snapshot is a finding, not a crash
            good = False
        report.check("snapshots consistent", good, problem)
        checked += 1
        tick = snapshot_tick - 1
    report.check("snapshots consistent", checked > 0, "no snapshot stored")
    report.facts["snapshots"] = checked
    return latest


async def _check_ledger(
    ledger_url: str,
    run_id: str,
    last_tick: int,
    digest: str,
    report: AuditReport,
    world_at_end: tuple[int, str] | None = None,
) -> None:
    from emergence.mesh.channels import mesh_channel
    from emergence.v1 import ledger_service_pb2, ledger_service_pb2_grpc
    from ledger_service.app import create_ledger_server

    server = await create_ledger_server("127.0.0.1:0", ledger_url)
    try:
        async with mesh_channel(server.address) as channel:
            reply = await ledger_service_pb2_grpc.LedgerStub(channel).Verify(
                ledger_service_pb2.VerifyRequest(run_id=run_id), timeout=120
            )
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.NOT_FOUND:
            raise Unavailable(
                f"the ledger could not verify run {run_id}: {error.details()}"
            ) from error
        # A ledger store without the run (often the wrong --ledger-store) is a failed audit.
        report.check(
            "the ledger store holds the run",
            False,
            f"{error.details()} (ledger store {redact_url(ledger_url)})",
        )
        return
    finally:
        await server.close()
    report.check(
        "ledger conservation per resource",
        reply.ok,
        "; ".join(a.message for a in reply.anomalies) or "ledger Verify failed",
    )
    report.check(
        "ledger and history end at the same tick",
        reply.last_tick == last_tick,
        f"ledger ends at tick {reply.last_tick}, history at tick {last_tick}",
    )
    report.check(
        "ledger digest equals the one recorded with the last tick",
        reply.ledger_digest == digest,
        "the ledger's balance digest differs from the digest recorded in the history",
    )
    if world_at_end is not None and world_at_end[0] == reply.last_tick:
        # Independent of the engine's own reports: the world it saved holds what the ledger holds.
        report.check(
            "world at the last snapshot holds what the ledger holds",
            world_at_end[1] == reply.ledger_digest,
            f"tick {reply.last_tick}: the snapshot's holdings (digest {world_at_end[1][:16]}) "
            f"differ from the ledger's balances (digest {reply.ledger_digest[:16]})",
        )
    report.facts["ledger entries"] = reply.entries_checked
    report.facts["ledger verify ms"] = round(reply.verify_ms, 1)


async def audit_run(
    run: str, *, store: str | None = None, ledger_store: str | None = None, out: str = "runs"
) -> AuditReport:
    run_id, store_url, ledger_url = locate_run(run, store, ledger_store, out)
    event_store = open_event_store(store_url)
    await event_store.open()
    try:
        stored = await event_store.get_run(run_id)
        if stored is None:
            raise NotFound(f"run {run_id} is not in {redact_url(store_url)}")
        report = AuditReport(run_id)
        await _check_events(event_store, run_id, report)
        last = await event_store.last_tick(run_id)
        rows = await event_store.tick_rows(run_id, max(last, 0))
        digest = rows[-1].ledger_digest if rows else ""
        report.check(
            "stored run hash equals history",
            stored.history_hash == report.facts.get("history_hash"),
            "the run's recorded history_hash differs from the recomputed one",
        )
        world_at_end = await _check_snapshots(event_store, run_id, last, report)
        await _check_ledger(ledger_url, run_id, last, digest, report, world_at_end)
        return report
    finally:
        with contextlib.suppress(Exception):
            await event_store.close()


async def replay_run(run: str, *, store: str | None = None, out: str = "runs") -> dict[str, object]:
    """Rebuild the run from its tick-0 snapshot and stored decisions; compare the history hash."""
    from engine.rebuild import rebuild

    run_id, store_url, _ledger = locate_run(run, store, None, out)
    event_store = open_event_store(store_url)
    await event_store.open()
    try:
        rebuilt = await rebuild(event_store, run_id, from_genesis=True)
        return {
            "run_id": run_id,
            "ticks": rebuilt.replayed_ticks,
            "history_hash": rebuilt.history_hash,
            "stored_history_hash": rebuilt.stored_history_hash,
            "matches": rebuilt.matches,
        }
    finally:
        await event_store.close()
