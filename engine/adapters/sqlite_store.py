"""SQLite event store for the embedded run: one file, WAL, one transaction per tick."""

from __future__ import annotations

import asyncio
import fcntl
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

from emergence.mesh.errors import AlreadyExists
from emergence.v1 import event_pb2, run_pb2
from engine.adapters.event_store import MAX_TICK, HistoryQuery, Selection, TickRecord, TickRow

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  run_id TEXT NOT NULL, tick INTEGER NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,
  type INTEGER NOT NULL, agent_id TEXT NOT NULL, location_id TEXT NOT NULL, payload BLOB NOT NULL,
  PRIMARY KEY (run_id, tick, seq));
CREATE INDEX IF NOT EXISTS events_agent ON events (run_id, agent_id, tick);
CREATE INDEX IF NOT EXISTS events_type ON events (run_id, type, tick);
CREATE TABLE IF NOT EXISTS ticks (
  run_id TEXT NOT NULL, tick INTEGER NOT NULL, history_hash TEXT NOT NULL, ledger_digest TEXT NOT NULL,
  event_count INTEGER NOT NULL, summary BLOB NOT NULL, PRIMARY KEY (run_id, tick));
CREATE TABLE IF NOT EXISTS decisions (
  run_id TEXT NOT NULL, tick INTEGER NOT NULL, agent_id TEXT NOT NULL, brain INTEGER NOT NULL,
  latency_ms REAL NOT NULL, tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, cost_usd REAL NOT NULL,
  payload BLOB NOT NULL, PRIMARY KEY (run_id, tick, agent_id));
CREATE TABLE IF NOT EXISTS snapshots (
  run_id TEXT NOT NULL, tick INTEGER NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (run_id, tick));
CREATE TABLE IF NOT EXISTS alerts (
  run_id TEXT NOT NULL, tick INTEGER NOT NULL, id TEXT NOT NULL, kind INTEGER NOT NULL,
  payload BLOB NOT NULL, PRIMARY KEY (run_id, id));
CREATE TABLE IF NOT EXISTS outbox (run_id TEXT NOT NULL, tick INTEGER NOT NULL, PRIMARY KEY (run_id, tick));
"""


class SqliteEventStore:
    def __init__(self, path: str) -> None:
        self.location = f"sqlite:///{path}"
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._claims: dict[str, IO[bytes]] = {}

    async def open(self) -> None:
        Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(
            self._path, check_same_thread=False, isolation_level=None
        )
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.executescript(SCHEMA)

    async def claim_run(self, run_id: str) -> bool:
        """An exclusive flock on `<file>.<run id>.lock`, held until this process ends."""
        if run_id in self._claims:
            return True
        handle = open(f"{self._path}.{run_id}.lock", "ab")  # noqa: SIM115, ASYNC230 - held while claimed
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._claims[run_id] = handle
        return True

    async def close(self) -> None:
        for handle in self._claims.values():
            handle.close()
        self._claims.clear()
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    @property
    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError("event store is not open")
        return self._connection

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        async with self._lock:
            return await asyncio.to_thread(function, *args)

    async def save_run(self, run: run_pb2.Run) -> None:
        def write() -> None:
            self._db.execute(
                "INSERT INTO runs (id, payload) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET payload = excluded.payload",
                (run.id, run.SerializeToString()),
            )

        await self._run(write)

    async def get_run(self, run_id: str) -> run_pb2.Run | None:
        row = await self._run(
            lambda: self._db.execute("SELECT payload FROM runs WHERE id = ?", (run_id,)).fetchone()
        )
        return run_pb2.Run.FromString(row[0]) if row else None

    async def list_runs(self) -> list[run_pb2.Run]:
        rows = await self._run(
            lambda: self._db.execute("SELECT payload FROM runs ORDER BY id").fetchall()
        )
        return [run_pb2.Run.FromString(row[0]) for row in rows]

    async def write_tick(self, record: TickRecord) -> None:
        def write() -> None:
            db = self._db
            try:
                db.execute("BEGIN")
                db.executemany(
                    "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            record.run_id,
                            e.tick,
                            e.sequence,
                            e.id,
                            e.type,
                            e.agent_id,
                            e.location_id,
                            payload,
                        )
                        for e, payload in zip(
                            record.events, record.serialized_events(), strict=True
                        )
                    ],
                )
                db.executemany(
                    "INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            record.run_id,
                            d.tick,
                            d.agent_id,
                            d.record.brain,
                            d.record.latency_ms,
                            d.record.tokens_in,
                            d.record.tokens_out,
                            d.record.cost_usd,
                            d.SerializeToString(),
                        )
                        for d in record.decisions
                    ],
                )
                db.executemany(
                    "INSERT INTO alerts VALUES (?, ?, ?, ?, ?)",
                    [
                        (record.run_id, a.tick, a.id, a.kind, a.SerializeToString())
                        for a in record.alerts
                    ],
                )
                if record.snapshot is not None:
                    db.execute(
                        "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?)",
                        (record.run_id, record.tick, record.snapshot),
                    )
                db.execute(
                    "INSERT INTO ticks VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        record.run_id,
                        record.tick,
                        record.history_hash,
                        record.ledger_digest,
                        len(record.events),
                        record.summary.SerializeToString(),
                    ),
                )
                db.execute("INSERT INTO outbox VALUES (?, ?)", (record.run_id, record.tick))
                db.execute("COMMIT")
            except sqlite3.IntegrityError as error:
                db.execute("ROLLBACK")
                raise AlreadyExists(
                    f"tick {record.tick} of run {record.run_id} is already stored ({error})",
                    hint="resume from the last stored tick instead of writing it again",
                ) from error
            except BaseException:
                db.execute("ROLLBACK")
                raise

        await self._run(write)

    async def events(
        self,
        run_id: str,
        from_tick: int = 0,
        to_tick: int | None = None,
        types: list[int] | None = None,
        agent_id: str = "",
        limit: int | None = None,
    ) -> list[event_pb2.Event]:
        select = HistoryQuery("events", numbered=False)
        query = select.filtered(run_id, from_tick, to_tick, agent_id, types).sql("tick, seq", limit)
        rows = await self._run(lambda: self._db.execute(query, select.parameters).fetchall())
        return [event_pb2.Event.FromString(row[0]) for row in rows]

    async def tick_rows(
        self, run_id: str, from_tick: int = 0, to_tick: int | None = None
    ) -> list[TickRow]:
        last = MAX_TICK if to_tick is None else to_tick
        rows = await self._run(
            lambda: self._db.execute(
                "SELECT tick, history_hash, ledger_digest, event_count, summary FROM ticks "
                "WHERE run_id = ? AND tick >= ? AND tick <= ? ORDER BY tick",
                (run_id, from_tick, last),
            ).fetchall()
        )
        return [TickRow(r[0], r[1], r[2], r[3], run_pb2.TickSummary.FromString(r[4])) for r in rows]

    async def decisions(
        self, run_id: str, from_tick: int = 0, to_tick: int | None = None, agent_id: str = ""
    ) -> list[run_pb2.Decision]:
        select = HistoryQuery("decisions", numbered=False)
        query = select.filtered(run_id, from_tick, to_tick, agent_id).sql("tick, agent_id")
        rows = await self._run(lambda: self._db.execute(query, select.parameters).fetchall())
        return [run_pb2.Decision.FromString(row[0]) for row in rows]

    async def snapshot_at_or_before(self, run_id: str, tick: int) -> tuple[int, bytes] | None:
        row = await self._run(
            lambda: self._db.execute(
                "SELECT tick, payload FROM snapshots WHERE run_id = ? AND tick <= ? ORDER BY tick DESC LIMIT 1",
                (run_id, tick),
            ).fetchone()
        )
        return (row[0], row[1]) if row else None

    async def save_snapshot(self, run_id: str, tick: int, payload: bytes) -> None:
        await self._run(
            lambda: self._db.execute(
                "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?)", (run_id, tick, payload)
            )
        )

    async def last_tick(self, run_id: str) -> int:
        row = await self._run(
            lambda: self._db.execute(
                "SELECT MAX(tick) FROM ticks WHERE run_id = ?", (run_id,)
            ).fetchone()
        )
        return int(row[0]) if row and row[0] is not None else -1

    async def truncate_after(self, run_id: str, tick: int) -> None:
        def delete() -> None:
            db = self._db
            db.execute("BEGIN")
            for table in ("events", "ticks", "decisions", "snapshots", "alerts", "outbox"):
                db.execute(f"DELETE FROM {table} WHERE run_id = ? AND tick > ?", (run_id, tick))
            db.execute("COMMIT")

        await self._run(delete)

    async def alerts(self, run_id: str, from_tick: int = 0) -> list[run_pb2.Alert]:
        rows = await self._run(
            lambda: self._db.execute(
                "SELECT payload FROM alerts WHERE run_id = ? AND tick >= ? ORDER BY tick, id",
                (run_id, from_tick),
            ).fetchall()
        )
        return [run_pb2.Alert.FromString(row[0]) for row in rows]

    async def events_page(
        self, run_id: str, selection: Selection, limit: int
    ) -> list[event_pb2.Event]:
        select = HistoryQuery("events", numbered=False).selected(run_id, selection)
        query = select.sql("tick, seq", limit)
        rows = await self._run(lambda: self._db.execute(query, select.parameters).fetchall())
        return [event_pb2.Event.FromString(row[0]) for row in rows]

    async def decisions_page(
        self, run_id: str, selection: Selection, limit: int
    ) -> list[run_pb2.Decision]:
        select = HistoryQuery("decisions", numbered=False).selected(run_id, selection)
        query = select.sql("tick, agent_id", limit)
        rows = await self._run(lambda: self._db.execute(query, select.parameters).fetchall())
        return [run_pb2.Decision.FromString(row[0]) for row in rows]

    async def unpublished_ticks(self, run_id: str) -> list[int]:
        rows = await self._run(
            lambda: self._db.execute(
                "SELECT tick FROM outbox WHERE run_id = ? ORDER BY tick", (run_id,)
            ).fetchall()
        )
        return [int(row[0]) for row in rows]

    async def mark_published(self, run_id: str, tick: int) -> None:
        await self._run(
            lambda: self._db.execute(
                "DELETE FROM outbox WHERE run_id = ? AND tick <= ?", (run_id, tick)
            )
        )
