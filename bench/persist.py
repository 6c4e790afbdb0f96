"""Event persistence benchmark: our event store's write_tick against raw asyncpg COPY of the same rows."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from emergence.v1 import event_pb2, run_pb2
from engine.adapters.event_store import TickRecord, open_event_store


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
