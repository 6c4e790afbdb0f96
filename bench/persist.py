"""Event persistence benchmark: our event store's write_tick against raw asyncpg COPY of the same rows."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from emergence.v1 import event_pb2, run_pb2
from engine.adapters.event_store import TickRecord, open_event_store
from engine.adapters.postgres_store import DECISION_COLUMNS, EVENT_COLUMNS


def synthetic_tick(run_id: str, tick: int, events_per_tick: int) -> TickRecord:
    events = []
    for sequence in range(events_per_tick):
        events.append(
            event_pb2.Event(
                id=f"{tick}-{sequence}",
                run_id=run_id,
                tick=tick,
                sequence=sequence,
                type=event_pb2.EVENT_TYPE_ACTION_SUCCEEDED,
                agent_id=f"agent-{sequence % 1000:04d}",
                location_id="riverbank",
                action=event_pb2.ActionDetails(outcome="gathered 4 berries", energy_spent=10),
            )
        )
    return TickRecord(
        run_id, tick, events, [], run_pb2.TickSummary(run_id=run_id, tick=tick), "h", "d"
    )


async def _ours(url: str, ticks: int, events_per_tick: int) -> float:
    store = open_event_store(url)
    await store.open()
    records = [synthetic_tick("bench", tick, events_per_tick) for tick in range(ticks)]
    started = time.perf_counter()
    for record in records:
        await store.write_tick(record)
    elapsed = time.perf_counter() - started
    await store.close()
    return elapsed


async def _raw_copy(dsn: str, ticks: int, events_per_tick: int, *, same_schema: bool) -> float:
    """Pre-serialized rows COPYed per tick: into our own events table, or into a bare table."""
    connection = await asyncpg.connect(dsn)
    table, schema, run_id = "events", "history", "raw-baseline"
    if not same_schema:
        table, schema, run_id = "raw_events", "public", "bench"
        await connection.execute(
            "CREATE TABLE raw_events (run_id TEXT, tick BIGINT, seq INTEGER, id TEXT, type INTEGER, "
            "agent_id TEXT, location_id TEXT, payload BYTEA, PRIMARY KEY (run_id, tick, seq))"
        )
    batches = [
        [
            (
                run_id,
                e.tick,
                e.sequence,
                e.id,
                e.type,
                e.agent_id,
                e.location_id,
                e.SerializeToString(),
            )
            for e in synthetic_tick(run_id, tick, events_per_tick).events
        ]
        for tick in range(ticks)
    ]
    columns = ["run_id", "tick", "seq", "id", "type", "agent_id", "location_id", "payload"]
    started = time.perf_counter()
    for rows in batches:
        async with connection.transaction():
            await connection.copy_records_to_table(
                table, schema_name=schema, records=rows, columns=columns
            )
    elapsed = time.perf_counter() - started
    await connection.close()
    return elapsed


async def run_persist_bench(
    postgres_dsn: str | None, ticks: int = 50, events_per_tick: int = 2000
) -> dict[str, Any]:
    total = ticks * events_per_tick
    figures: dict[str, Any] = {"ticks": ticks, "events_per_tick": events_per_tick}
    with tempfile.TemporaryDirectory() as folder:
        seconds = await _ours(f"sqlite:///{Path(folder) / 'bench.sqlite'}", ticks, events_per_tick)
        figures["sqlite_events_per_s"] = round(total / seconds)
    if postgres_dsn:
        ours = await _ours(postgres_dsn, ticks, events_per_tick)
        same = await _raw_copy(postgres_dsn, ticks, events_per_tick, same_schema=True)
        bare = await _raw_copy(postgres_dsn, ticks, events_per_tick, same_schema=False)
        figures["postgres_events_per_s"] = round(total / ours)
        figures["raw_copy_same_table_events_per_s"] = round(total / same)
        figures["raw_copy_bare_table_events_per_s"] = round(total / bare)
        figures["ours_vs_raw_copy_same_table"] = round(same / ours, 2)
        figures["ours_vs_raw_copy_bare_table"] = round(bare / ours, 2)
    return figures


def render(figures: dict[str, Any]) -> str:
    rows: list[list[object]] = [
        ["SQLite (embedded) write_tick", f"{figures['sqlite_events_per_s']:,}", "–"]
    ]
    if "postgres_events_per_s" in figures:
        rows.append(
            [
                "PostgreSQL write_tick (serialize + COPY events + tick row, one transaction)",
                f"{figures['postgres_events_per_s']:,}",
                f"{figures['ours_vs_raw_copy_same_table']:.2f}× / {figures['ours_vs_raw_copy_bare_table']:.2f}×",
            ]
        )
        rows.append(
            [
                "baseline: raw asyncpg COPY, pre-serialized rows, into the same partitioned, indexed table",
                f"{figures['raw_copy_same_table_events_per_s']:,}",
                "1.00× / –",
            ]
        )
        rows.append(
            [
                "baseline: raw asyncpg COPY into a bare table (primary key only)",
                f"{figures['raw_copy_bare_table_events_per_s']:,}",
                "– / 1.00×",
            ]
        )
    from bench.report import table

    return (
        f"{figures['ticks']} ticks × {figures['events_per_tick']:,} events.\n\n"
        + table(["store", "events/s", "our speed ÷ baseline (same table / bare table)"], rows)
        + "\n\nThe gap to the bare table is the two secondary indexes (agent timeline, event type) that the"
        " Observer's queries use; the gap to the same table is serialization plus the tick row."
    )


async def stored_tick_records(store_url: str, run_id: str) -> list[TickRecord]:
    """A stored run's ticks (after genesis) as the records the engine wrote, events serialized."""
    store = open_event_store(store_url)
    await store.open()
    try:
        records = []
        for row in await store.tick_rows(run_id, from_tick=1):
            events = await store.events(run_id, row.tick, row.tick)
            records.append(
                TickRecord(
                    run_id,
                    row.tick,
                    events,
                    await store.decisions(run_id, row.tick, row.tick),
                    row.summary,
                    row.history_hash,
                    row.ledger_digest,
                    event_payloads=[event.SerializeToString() for event in events],
                )
            )
    finally:
        await store.close()
    return records


def _as_run(record: TickRecord, run_id: str) -> TickRecord:
    return TickRecord(
        run_id,
        record.tick,
        record.events,
        record.decisions,
        record.summary,
        record.history_hash,
        record.ledger_digest,
        event_payloads=record.event_payloads,
    )


async def _copy_rows(connection: asyncpg.Connection, record: TickRecord, run_id: str) -> None:
    """The rows of one tick as write_tick writes them, prepared beforehand, COPYed in one go."""
    events = [
        (run_id, e.tick, e.sequence, e.id, e.type, e.agent_id, e.location_id, payload)
        for e, payload in zip(record.events, record.serialized_events(), strict=True)
    ]
    decisions = [
        (
            run_id, d.tick, d.agent_id, d.record.brain, d.record.latency_ms,
            d.record.tokens_in, d.record.tokens_out, d.record.cost_usd, d.SerializeToString(),
        )
        for d in record.decisions
    ]  # fmt: skip
    summary = record.summary.SerializeToString()
    async with connection.transaction():
        await connection.copy_records_to_table(
            "events", schema_name="history", columns=EVENT_COLUMNS, records=events
        )
        await connection.copy_records_to_table(
            "decisions", schema_name="history", columns=DECISION_COLUMNS, records=decisions
        )
        await connection.copy_records_to_table(
            "ticks",
            schema_name="history",
            records=[
                (
                    run_id,
                    record.tick,
                    record.history_hash,
                    record.ledger_digest,
                    len(events),
                    summary,
                )
            ],
        )
        await connection.copy_records_to_table(
            "outbox", schema_name="history", records=[(run_id, record.tick)]
        )


async def persistence_against_copy(dsn: str, records: list[TickRecord]) -> dict[str, float]:
    """Our write_tick of a run's ticks against a raw asyncpg COPY of the same rows, same tables.

    Both write the ticks again under fresh run ids into the database the run used; the baseline's
    rows are built (serialized) before its clock starts, ours are built as the engine builds them.
    """
    if not records:
        return {}
    store = open_event_store(dsn)
    await store.open()
    try:
        started = time.perf_counter()
        for record in records:
            await store.write_tick(_as_run(record, "persist-ours"))
        ours = time.perf_counter() - started
    finally:
        await store.close()
    connection = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        for record in records:
            await _copy_rows(connection, record, "persist-raw-copy")
        raw = time.perf_counter() - started
    finally:
        await connection.close()
    ticks = len(records)
    return {
        "ticks": ticks,
        "rows_per_tick": round(sum(len(r.events) + len(r.decisions) + 2 for r in records) / ticks),
        "ours_ms_per_tick": round(ours * 1000 / ticks, 1),
        "raw_copy_ms_per_tick": round(raw * 1000 / ticks, 1),
        "ratio": round(raw / ours, 2) if ours else 0.0,
    }
