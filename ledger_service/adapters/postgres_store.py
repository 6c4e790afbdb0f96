"""The full-stack ledger store: PostgreSQL via asyncpg, schema `ledger`, COPY per tick."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import asyncpg

from emergence.mesh.errors import Unavailable
from emergence.mesh.outages import outages_as_unavailable, postgres_outage
from emergence.mesh.redact import redact_url
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

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS ledger;
CREATE TABLE IF NOT EXISTS ledger.ticks (
  run_id TEXT NOT NULL, tick BIGINT NOT NULL, payload_hash TEXT NOT NULL,
  ledger_digest TEXT NOT NULL, entries_applied INTEGER NOT NULL, anomalies TEXT NOT NULL,
  PRIMARY KEY (run_id, tick)
);
CREATE TABLE IF NOT EXISTS ledger.entries (
  run_id TEXT NOT NULL, tick BIGINT NOT NULL, position INTEGER NOT NULL, id TEXT NOT NULL,
  entry_type TEXT NOT NULL, from_type TEXT NOT NULL, from_id TEXT NOT NULL,
  to_type TEXT NOT NULL, to_id TEXT NOT NULL, resource TEXT NOT NULL,
  quantity BIGINT NOT NULL, memo TEXT NOT NULL, correlation_id TEXT NOT NULL,
  PRIMARY KEY (run_id, tick, position)
);
CREATE TABLE IF NOT EXISTS ledger.balances (
  run_id TEXT NOT NULL, entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,
  resource TEXT NOT NULL, quantity BIGINT NOT NULL,
  PRIMARY KEY (run_id, entity_type, entity_id, resource)
);
CREATE TABLE IF NOT EXISTS ledger.finished (run_id TEXT PRIMARY KEY, tick BIGINT NOT NULL);
"""

# One round trip for every touched balance of a tick, whatever their number.
UPSERT_BALANCES = """
INSERT INTO ledger.balances (run_id, entity_type, entity_id, resource, quantity)
SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[])
ON CONFLICT (run_id, entity_type, entity_id, resource) DO UPDATE SET quantity = EXCLUDED.quantity
"""
REBUILD_BALANCES = """
INSERT INTO ledger.balances (run_id, entity_type, entity_id, resource, quantity)
SELECT $1, entity_type, entity_id, resource, SUM(delta) FROM (
  SELECT from_type AS entity_type, from_id AS entity_id, resource, -quantity AS delta
    FROM ledger.entries WHERE run_id = $1
  UNION ALL
  SELECT to_type, to_id, resource, quantity FROM ledger.entries WHERE run_id = $1
) AS moves GROUP BY entity_type, entity_id, resource
"""
# Serialises schema creation between processes opening the same database at once.
SCHEMA_LOCK_KEY = 0x1ED6E7


@outages_as_unavailable("PostgreSQL", postgres_outage)
class PostgresLedgerStore:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.location = redact_url(dsn)
        self._pool: asyncpg.Pool | None = None

    @property
    def _db(self) -> asyncpg.Pool:
        if self._pool is None:
            raise Unavailable(f"ledger store {self.location} is not open", hint="call open() first")
        return self._pool

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=4)
        except (OSError, asyncpg.PostgresError) as error:
            raise Unavailable(
                f"cannot reach the ledger database {self.location}: {error}",
                hint="is PostgreSQL running and does the database exist?",
            ) from error
        async with self._db.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK_KEY)
            await connection.execute(SCHEMA)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def load_run(self, run_id: str) -> StoredRun:
        async with self._db.acquire() as connection:
            rows = await connection.fetch(
                "SELECT entity_type, entity_id, resource, quantity FROM ledger.balances "
                "WHERE run_id = $1",
                run_id,
            )
            span = await connection.fetchrow(
                "SELECT MIN(tick), MAX(tick) FROM ledger.ticks WHERE run_id = $1", run_id
            )
            finished = await connection.fetchval(
                "SELECT tick FROM ledger.finished WHERE run_id = $1", run_id
            )
        assert span is not None
        return StoredRun({(r[0], r[1], r[2]): r[3] for r in rows}, span[0], span[1], finished)

    async def tick_record(self, run_id: str, tick: int) -> TickRecord | None:
        row = await self._db.fetchrow(
            "SELECT payload_hash, ledger_digest, entries_applied, anomalies FROM ledger.ticks "
            "WHERE run_id = $1 AND tick = $2",
            run_id,
            tick,
        )
        if row is None:
            return None
        return TickRecord(run_id, tick, row[0], row[1], row[2], anomalies_from_json(row[3]))

    async def commit_tick(
        self, record: TickRecord, entries: Sequence[Entry], balances: Mapping[Account, int]
    ) -> None:
        rows = entry_rows(record.run_id, record.tick, entries)
        keys = list(balances)
        async with self._db.acquire() as connection, connection.transaction():
            # The tick row first: a concurrent second writer fails on its key before any COPY.
            await connection.execute(
                "INSERT INTO ledger.ticks VALUES ($1, $2, $3, $4, $5, $6)",
                record.run_id,
                record.tick,
                record.payload_hash,
                record.ledger_digest,
                record.entries_applied,
                anomalies_to_json(record.anomalies),
            )
            if rows:
                await connection.copy_records_to_table(
                    "entries", schema_name="ledger", columns=ENTRY_COLUMNS, records=rows
                )
            if record.final:
                await connection.execute(
                    "INSERT INTO ledger.finished VALUES ($1, $2)", record.run_id, record.tick
                )
            if keys:
                await connection.execute(
                    UPSERT_BALANCES,
                    record.run_id,
                    [key[0] for key in keys],
                    [key[1] for key in keys],
                    [key[2] for key in keys],
                    [balances[key] for key in keys],
                )

    async def history(self, query: HistoryQuery) -> list[StoredEntry]:
        where, arguments = history_filter(query, lambda n: f"${n}")
        rows = await self._db.fetch(
            f"SELECT {SELECT_ENTRY} FROM ledger.entries WHERE {where} "
            f"ORDER BY tick, position LIMIT {int(query.limit)}",
            *arguments,
        )
        return [StoredEntry(row[0], row[1], entry_from_row((row[0], *row[2:]))) for row in rows]

    async def ticks(self, run_id: str) -> AsyncIterator[tuple[int, list[Entry]]]:
        counts = await self._db.fetch(
            "SELECT tick, entries_applied FROM ledger.ticks WHERE run_id = $1 ORDER BY tick",
            run_id,
        )
        for chunk in tick_chunks([(row[0], row[1]) for row in counts]):
            rows = await self._db.fetch(
                f"SELECT {SELECT_ENTRY} FROM ledger.entries WHERE run_id = $1 "
                "AND tick BETWEEN $2 AND $3 ORDER BY tick, position",
                run_id,
                chunk[0],
                chunk[-1],
            )
            by_tick: dict[int, list[Entry]] = {tick: [] for tick in chunk}
            for row in rows:
                by_tick[row[0]].append(entry_from_row((row[0], *row[2:])))
            for tick in chunk:
                yield tick, by_tick[tick]

    async def rewind(self, run_id: str, tick: int) -> int:
        async with self._db.acquire() as connection, connection.transaction():
            status = await connection.execute(
                "DELETE FROM ledger.entries WHERE run_id = $1 AND tick > $2", run_id, tick
            )
            await connection.execute(
                "DELETE FROM ledger.ticks WHERE run_id = $1 AND tick > $2", run_id, tick
            )
            await connection.execute(
                "DELETE FROM ledger.finished WHERE run_id = $1 AND tick > $2", run_id, tick
            )
            await connection.execute("DELETE FROM ledger.balances WHERE run_id = $1", run_id)
            await connection.execute(REBUILD_BALANCES, run_id)
        return _row_count(status)


def _row_count(status: Any) -> int:
    """asyncpg returns a command tag such as "DELETE 42"."""
    return int(str(status).rsplit(" ", 1)[-1])
