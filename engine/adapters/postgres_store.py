"""PostgreSQL event store (asyncpg): events partitioned by tick range, bulk writes with COPY.

Each tick's history is written on a connection of its own, driven by an event loop in a thread
of its own (`HistoryWriter`): the engine persists tick T while tick T+1 wakes and perceives in
its own thread, and each of the write's round trips (partition, BEGIN, two COPYs, rows, COMMIT)
would otherwise wait for that thread's next turn.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from emergence.mesh.errors import AlreadyExists, Unavailable
from emergence.mesh.outages import outages_as_unavailable, postgres_outage
from emergence.mesh.redact import redact_url
from emergence.v1 import event_pb2, run_pb2
from engine.adapters.event_store import MAX_TICK, HistoryQuery, Selection, TickRecord, TickRow

TICKS_PER_PARTITION = 10_000
T = TypeVar("T")

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS history;
CREATE TABLE IF NOT EXISTS history.runs (id TEXT PRIMARY KEY, payload BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS history.events (
  run_id TEXT NOT NULL, tick BIGINT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,
  type INTEGER NOT NULL, agent_id TEXT NOT NULL, location_id TEXT NOT NULL, payload BYTEA NOT NULL,
  PRIMARY KEY (run_id, tick, seq)) PARTITION BY RANGE (tick);
CREATE INDEX IF NOT EXISTS events_agent ON history.events (run_id, agent_id, tick);
CREATE INDEX IF NOT EXISTS events_type ON history.events (run_id, type, tick);
CREATE TABLE IF NOT EXISTS history.ticks (
  run_id TEXT NOT NULL, tick BIGINT NOT NULL, history_hash TEXT NOT NULL, ledger_digest TEXT NOT NULL,
  event_count INTEGER NOT NULL, summary BYTEA NOT NULL, PRIMARY KEY (run_id, tick));
CREATE TABLE IF NOT EXISTS history.decisions (
  run_id TEXT NOT NULL, tick BIGINT NOT NULL, agent_id TEXT NOT NULL, brain INTEGER NOT NULL,
  latency_ms DOUBLE PRECISION NOT NULL, tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL,
  cost_usd DOUBLE PRECISION NOT NULL, payload BYTEA NOT NULL, PRIMARY KEY (run_id, tick, agent_id));
CREATE TABLE IF NOT EXISTS history.snapshots (
  run_id TEXT NOT NULL, tick BIGINT NOT NULL, payload BYTEA NOT NULL, PRIMARY KEY (run_id, tick));
CREATE TABLE IF NOT EXISTS history.alerts (
  run_id TEXT NOT NULL, tick BIGINT NOT NULL, id TEXT NOT NULL, kind INTEGER NOT NULL,
  payload BYTEA NOT NULL, PRIMARY KEY (run_id, id));
CREATE TABLE IF NOT EXISTS history.outbox (
  run_id TEXT NOT NULL, tick BIGINT NOT NULL, PRIMARY KEY (run_id, tick));
"""

EVENT_COLUMNS = ["run_id", "tick", "seq", "id", "type", "agent_id", "location_id", "payload"]
DECISION_COLUMNS = [
    "run_id",
    "tick",
    "agent_id",
    "brain",
    "latency_ms",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "payload",
]


class HistoryWriter:
    """One connection and an event loop of its own, in a daemon thread, for the tick writes.

    A write runs there whatever the caller's loop is doing; the caller awaits its result. A
    write that fails in any way but a clean refusal (a duplicate tick) drops the connection:
    the next one connects afresh (after an outage, or a write cancelled midway)."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._connection: asyncpg.Connection | None = None
        self._lock: asyncio.Lock | None = None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="history-writer", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    async def run(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """`work(connection)` in the writer's thread; its result or its error here."""
        future = asyncio.run_coroutine_threadsafe(self._on_connection(work), self.loop)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()
            raise

    async def _on_connection(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._connection is None or self._connection.is_closed():
                self._connection = await asyncpg.connect(self._dsn)
            try:
                return await work(self._connection)
            except AlreadyExists:
                raise  # rolled back cleanly: the connection is fine
            except BaseException:
                self._drop()
                raise

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            connection.terminate()

    async def _shutdown(self) -> None:
        current = asyncio.current_task()
        unfinished = [task for task in asyncio.all_tasks() if task is not current]
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            try:
                await asyncio.wait_for(connection.close(), timeout=2)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                connection.terminate()

    def close(self) -> None:
        """End any write still running, close the connection and end the thread."""
        if self.loop.is_closed():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            if not self._thread.is_alive():
                self.loop.close()


@outages_as_unavailable("PostgreSQL", postgres_outage)
class PostgresEventStore:
    def __init__(self, dsn: str) -> None:
        self.location = redact_url(dsn)
        self._dsn = dsn
        self._pool: asyncpg.Pool | None = None
        self._partitions: set[int] = set()
        self._claims: dict[str, asyncpg.Connection] = {}
        self._writer: HistoryWriter | None = None  # made by the first tick written

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(self._dsn, min_size=1, max_size=4)
        except (OSError, asyncpg.PostgresError) as error:
            raise Unavailable(
                f"cannot reach PostgreSQL at {self.location}: {error}",
                hint="check DATABASE_URL and that PostgreSQL is running",
            ) from error
        async with self._pool.acquire() as connection:
            await connection.execute("SELECT pg_advisory_lock(7341)")
            try:
                await connection.execute(SCHEMA)
            finally:
                await connection.execute("SELECT pg_advisory_unlock(7341)")

    async def claim_run(self, run_id: str) -> bool:
        """A session advisory lock on the run id, on a connection of its own kept while claimed."""
        if run_id in self._claims and not self._claims[run_id].is_closed():
            return True
        connection = await asyncpg.connect(self._dsn)
        claimed = await connection.fetchval(
            "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", f"emergence-run:{run_id}"
        )
        if not claimed:
            await connection.close()
            return False
        self._claims[run_id] = connection
        return True

    async def close(self) -> None:
        for connection in self._claims.values():
            await connection.close()
        self._claims.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("event store is not open")
        return self._pool

    async def _ensure_partition(self, connection: asyncpg.Connection, tick: int) -> None:
        index = tick // TICKS_PER_PARTITION
        if index in self._partitions:
            return
        low, high = index * TICKS_PER_PARTITION, (index + 1) * TICKS_PER_PARTITION
        await connection.execute(
            f"CREATE TABLE IF NOT EXISTS history.events_p{index} PARTITION OF history.events "
            f"FOR VALUES FROM ({low}) TO ({high})"
        )
        self._partitions.add(index)

    async def save_run(self, run: run_pb2.Run) -> None:
        await self.pool.execute(
            "INSERT INTO history.runs (id, payload) VALUES ($1, $2) "
            "ON CONFLICT (id) DO UPDATE SET payload = excluded.payload",
            run.id,
            run.SerializeToString(),
        )

    async def get_run(self, run_id: str) -> run_pb2.Run | None:
        payload = await self.pool.fetchval("SELECT payload FROM history.runs WHERE id = $1", run_id)
        return run_pb2.Run.FromString(payload) if payload is not None else None

    async def list_runs(self) -> list[run_pb2.Run]:
        rows = await self.pool.fetch("SELECT payload FROM history.runs ORDER BY id")
        return [run_pb2.Run.FromString(row["payload"]) for row in rows]

    async def write_tick(self, record: TickRecord) -> None:
        """The tick's transaction, on the writer's connection in the writer's thread."""
        if self._pool is None:
            raise RuntimeError("event store is not open")
        if self._writer is None:
            self._writer = HistoryWriter(self._dsn)
        await self._writer.run(lambda connection: self._write_tick_on(connection, record))

    async def _write_tick_on(self, connection: asyncpg.Connection, record: TickRecord) -> None:
        if record.events:
            await self._ensure_partition(connection, record.tick)
        try:
            async with connection.transaction():
                await self._write(connection, record)
        except asyncpg.UniqueViolationError as error:
            raise AlreadyExists(
                f"tick {record.tick} of run {record.run_id} is already stored",
                hint="resume from the last stored tick instead of writing it again",
            ) from error

    async def _write(self, connection: asyncpg.Connection, record: TickRecord) -> None:
        if record.events:
            await connection.copy_records_to_table(
                "events",
                schema_name="history",
                columns=EVENT_COLUMNS,
                records=[
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
                    for e, payload in zip(record.events, record.serialized_events(), strict=True)
                ],
            )
        if record.decisions:
            await connection.copy_records_to_table(
                "decisions",
                schema_name="history",
                columns=DECISION_COLUMNS,
                records=[
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
        if record.alerts:
            await connection.executemany(
                "INSERT INTO history.alerts VALUES ($1, $2, $3, $4, $5)",
                [
                    (record.run_id, a.tick, a.id, a.kind, a.SerializeToString())
                    for a in record.alerts
                ],
            )
        if record.snapshot is not None:
            await connection.execute(
                "INSERT INTO history.snapshots VALUES ($1, $2, $3) "
                "ON CONFLICT (run_id, tick) DO UPDATE SET payload = excluded.payload",
                record.run_id,
                record.tick,
                record.snapshot,
            )
        await connection.execute(
            "INSERT INTO history.ticks VALUES ($1, $2, $3, $4, $5, $6)",
            record.run_id,
            record.tick,
            record.history_hash,
            record.ledger_digest,
            len(record.events),
            record.summary.SerializeToString(),
        )
        await connection.execute(
            "INSERT INTO history.outbox VALUES ($1, $2)", record.run_id, record.tick
        )

    async def events(
        self,
        run_id: str,
        from_tick: int = 0,
        to_tick: int | None = None,
        types: list[int] | None = None,
        agent_id: str = "",
        limit: int | None = None,
    ) -> list[event_pb2.Event]:
        select = HistoryQuery("history.events", numbered=True)
        query = select.filtered(run_id, from_tick, to_tick, agent_id, types).sql("tick, seq", limit)
        rows = await self.pool.fetch(query, *select.parameters)
        return [event_pb2.Event.FromString(row["payload"]) for row in rows]

    async def tick_rows(
        self, run_id: str, from_tick: int = 0, to_tick: int | None = None
    ) -> list[TickRow]:
        rows = await self.pool.fetch(
            "SELECT tick, history_hash, ledger_digest, event_count, summary FROM history.ticks "
            "WHERE run_id = $1 AND tick >= $2 AND tick <= $3 ORDER BY tick",
            run_id,
            from_tick,
            MAX_TICK if to_tick is None else to_tick,
        )
        return [
            TickRow(
                r["tick"],
                r["history_hash"],
                r["ledger_digest"],
                r["event_count"],
                run_pb2.TickSummary.FromString(r["summary"]),
            )
            for r in rows
        ]

    async def decisions(
        self, run_id: str, from_tick: int = 0, to_tick: int | None = None, agent_id: str = ""
    ) -> list[run_pb2.Decision]:
        select = HistoryQuery("history.decisions", numbered=True)
        query = select.filtered(run_id, from_tick, to_tick, agent_id).sql("tick, agent_id")
        rows = await self.pool.fetch(query, *select.parameters)
        return [run_pb2.Decision.FromString(row["payload"]) for row in rows]

    async def snapshot_at_or_before(self, run_id: str, tick: int) -> tuple[int, bytes] | None:
        row = await self.pool.fetchrow(
            "SELECT tick, payload FROM history.snapshots WHERE run_id = $1 AND tick <= $2 "
            "ORDER BY tick DESC LIMIT 1",
            run_id,
            tick,
        )
        return (row["tick"], row["payload"]) if row else None

    async def save_snapshot(self, run_id: str, tick: int, payload: bytes) -> None:
        await self.pool.execute(
            "INSERT INTO history.snapshots VALUES ($1, $2, $3) "
            "ON CONFLICT (run_id, tick) DO UPDATE SET payload = excluded.payload",
            run_id,
            tick,
            payload,
        )

    async def last_tick(self, run_id: str) -> int:
        value = await self.pool.fetchval(
            "SELECT MAX(tick) FROM history.ticks WHERE run_id = $1", run_id
        )
        return int(value) if value is not None else -1

    async def truncate_after(self, run_id: str, tick: int) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            for table in ("events", "ticks", "decisions", "snapshots", "alerts", "outbox"):
                await connection.execute(
                    f"DELETE FROM history.{table} WHERE run_id = $1 AND tick > $2", run_id, tick
                )

    async def alerts(self, run_id: str, from_tick: int = 0) -> list[run_pb2.Alert]:
        rows = await self.pool.fetch(
            "SELECT payload FROM history.alerts WHERE run_id = $1 AND tick >= $2 ORDER BY tick, id",
            run_id,
            from_tick,
        )
        return [run_pb2.Alert.FromString(row["payload"]) for row in rows]

    async def events_page(
        self, run_id: str, selection: Selection, limit: int
    ) -> list[event_pb2.Event]:
        select = HistoryQuery("history.events", numbered=True).selected(run_id, selection)
        query = select.sql("tick, seq", limit)
        rows = await self.pool.fetch(query, *select.parameters)
        return [event_pb2.Event.FromString(row["payload"]) for row in rows]

    async def decisions_page(
        self, run_id: str, selection: Selection, limit: int
    ) -> list[run_pb2.Decision]:
        select = HistoryQuery("history.decisions", numbered=True).selected(run_id, selection)
        query = select.sql("tick, agent_id", limit)
        rows = await self.pool.fetch(query, *select.parameters)
        return [run_pb2.Decision.FromString(row["payload"]) for row in rows]

    async def unpublished_ticks(self, run_id: str) -> list[int]:
        rows = await self.pool.fetch(
            "SELECT tick FROM history.outbox WHERE run_id = $1 ORDER BY tick", run_id
        )
        return [int(row["tick"]) for row in rows]

    async def mark_published(self, run_id: str, tick: int) -> None:
        await self.pool.execute(
            "DELETE FROM history.outbox WHERE run_id = $1 AND tick <= $2", run_id, tick
        )
