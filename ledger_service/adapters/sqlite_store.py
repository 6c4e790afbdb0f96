"""The embedded ledger store: stdlib sqlite3 on one worker thread, WAL, one transaction per tick."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from emergence.mesh.errors import Unavailable
from ledger_service.adapters.rows import (
    ENTRY_COLUMNS,
    SELECT_ENTRY,
    anomalies_from_json,
    anomalies_to_json,
    entry_from_row,
    entry_rows,
    history_filter,
    tick_chunks,
)
from ledger_service.adapters.store import HistoryQuery, StoredEntry, StoredRun, TickRecord
from ledger_service.core import Account, Entry

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_ticks (
  run_id TEXT NOT NULL, tick INTEGER NOT NULL, payload_hash TEXT NOT NULL,
  ledger_digest TEXT NOT NULL, entries_applied INTEGER NOT NULL, anomalies TEXT NOT NULL,
  PRIMARY KEY (run_id, tick)
);
CREATE TABLE IF NOT EXISTS ledger_entries (
  run_id TEXT NOT NULL, tick INTEGER NOT NULL, position INTEGER NOT NULL, id TEXT NOT NULL,
  entry_type TEXT NOT NULL, from_type TEXT NOT NULL, from_id TEXT NOT NULL,
  to_type TEXT NOT NULL, to_id TEXT NOT NULL, resource TEXT NOT NULL,
  quantity INTEGER NOT NULL, memo TEXT NOT NULL, correlation_id TEXT NOT NULL,
  PRIMARY KEY (run_id, tick, position)
);
CREATE TABLE IF NOT EXISTS ledger_balances (
  run_id TEXT NOT NULL, entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,
  resource TEXT NOT NULL, quantity INTEGER NOT NULL,
  PRIMARY KEY (run_id, entity_type, entity_id, resource)
);
CREATE TABLE IF NOT EXISTS ledger_finished (run_id TEXT PRIMARY KEY, tick INTEGER NOT NULL);
"""

INSERT_ENTRY = (
    f"INSERT INTO ledger_entries ({', '.join(ENTRY_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in ENTRY_COLUMNS)})"
)
UPSERT_BALANCE = (
    "INSERT INTO ledger_balances (run_id, entity_type, entity_id, resource, quantity) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id, entity_type, entity_id, resource) "
    "DO UPDATE SET quantity = excluded.quantity"
)
REBUILD_BALANCES = """
INSERT INTO ledger_balances (run_id, entity_type, entity_id, resource, quantity)
SELECT ?1, entity_type, entity_id, resource, SUM(delta) FROM (
  SELECT from_type AS entity_type, from_id AS entity_id, resource, -quantity AS delta
    FROM ledger_entries WHERE run_id = ?1
  UNION ALL
  SELECT to_type, to_id, resource, quantity FROM ledger_entries WHERE run_id = ?1
) GROUP BY entity_type, entity_id, resource
"""


class SqliteLedgerStore:
    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.location = f"sqlite:///{path}"
        # One thread owns the connection: sqlite3 objects must stay on the thread using them.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-sqlite")
        self._connection: sqlite3.Connection | None = None

    async def _run(self, function: Callable[..., T], *arguments: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *arguments)

    @property
    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise Unavailable(f"ledger store {self.location} is not open", hint="call open() first")
        return self._connection

    async def open(self) -> None:
        await self._run(self._open)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            raise Unavailable(f"cannot open ledger store {self.location}: {error}") from error
        connection.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a committed tick survives a killed process.
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(SCHEMA)
        self._connection = connection

    async def close(self) -> None:
        if self._connection is not None:
            await self._run(self._connection.close)
            self._connection = None
        self._executor.shutdown(wait=True)

    async def load_run(self, run_id: str) -> StoredRun:
        return await self._run(self._load_run, run_id)

    def _load_run(self, run_id: str) -> StoredRun:
        rows = self._db.execute(
            "SELECT entity_type, entity_id, resource, quantity FROM ledger_balances "
            "WHERE run_id = ?",
            (run_id,),
        ).fetchall()
        first, last = self._db.execute(
            "SELECT MIN(tick), MAX(tick) FROM ledger_ticks WHERE run_id = ?", (run_id,)
        ).fetchone()
        finished = self._db.execute(
            "SELECT tick FROM ledger_finished WHERE run_id = ?", (run_id,)
        ).fetchone()
        return StoredRun(
            {(t, i, r): q for t, i, r, q in rows}, first, last, finished[0] if finished else None
        )

    async def tick_record(self, run_id: str, tick: int) -> TickRecord | None:
        row = await self._run(
            lambda: self._db.execute(
                "SELECT payload_hash, ledger_digest, entries_applied, anomalies FROM ledger_ticks "
                "WHERE run_id = ? AND tick = ?",
                (run_id, tick),
            ).fetchone()
        )
        if row is None:
            return None
        return TickRecord(run_id, tick, row[0], row[1], row[2], anomalies_from_json(row[3]))

    async def commit_tick(
        self, record: TickRecord, entries: Sequence[Entry], balances: Mapping[Account, int]
    ) -> None:
        rows = entry_rows(record.run_id, record.tick, entries)
        balance_rows = [(record.run_id, *key, quantity) for key, quantity in balances.items()]
        await self._run(self._commit, record, rows, balance_rows)

    def _commit(
        self, record: TickRecord, rows: list[tuple[Any, ...]], balance_rows: list[tuple[Any, ...]]
    ) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "INSERT INTO ledger_ticks VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.run_id,
                    record.tick,
                    record.payload_hash,
                    record.ledger_digest,
                    record.entries_applied,
                    anomalies_to_json(record.anomalies),
                ),
            )
            db.executemany(INSERT_ENTRY, rows)
            db.executemany(UPSERT_BALANCE, balance_rows)
            if record.final:
                db.execute(
                    "INSERT INTO ledger_finished VALUES (?, ?)", (record.run_id, record.tick)
                )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    async def history(self, query: HistoryQuery) -> list[StoredEntry]:
        where, arguments = history_filter(query, lambda n: f"?{n}")
        sql = (
            f"SELECT {SELECT_ENTRY} FROM ledger_entries WHERE {where} "
            f"ORDER BY tick, position LIMIT {int(query.limit)}"
        )
        rows = await self._run(lambda: self._db.execute(sql, arguments).fetchall())
        return [StoredEntry(row[0], row[1], entry_from_row((row[0], *row[2:]))) for row in rows]

    async def ticks(self, run_id: str) -> AsyncIterator[tuple[int, list[Entry]]]:
        counts = await self._run(
            lambda: self._db.execute(
                "SELECT tick, entries_applied FROM ledger_ticks WHERE run_id = ? ORDER BY tick",
                (run_id,),
            ).fetchall()
        )
        for chunk in tick_chunks(counts):
            rows = await self._run(
                lambda chunk=chunk: self._db.execute(
                    f"SELECT {SELECT_ENTRY} FROM ledger_entries WHERE run_id = ? "
                    "AND tick BETWEEN ? AND ? ORDER BY tick, position",
                    (run_id, chunk[0], chunk[-1]),
                ).fetchall()
            )
            by_tick: dict[int, list[Entry]] = {tick: [] for tick in chunk}
            for row in rows:
                by_tick[row[0]].append(entry_from_row((row[0], *row[2:])))
            for tick in chunk:
                yield tick, by_tick[tick]

    async def rewind(self, run_id: str, tick: int) -> int:
        return await self._run(self._rewind, run_id, tick)

    def _rewind(self, run_id: str, tick: int) -> int:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            removed = db.execute(
                "DELETE FROM ledger_entries WHERE run_id = ? AND tick > ?", (run_id, tick)
            ).rowcount
            db.execute("DELETE FROM ledger_ticks WHERE run_id = ? AND tick > ?", (run_id, tick))
            db.execute("DELETE FROM ledger_finished WHERE run_id = ? AND tick > ?", (run_id, tick))
            db.execute("DELETE FROM ledger_balances WHERE run_id = ?", (run_id,))
            db.execute(REBUILD_BALANCES, (run_id,))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return int(removed)
