"""Row shapes shared by both stores: entry rows, anomaly JSON, history filters, verify chunks."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from ledger_service.adapters.store import HistoryQuery
from ledger_service.core import Anomaly, Entry

ENTRY_COLUMNS = (
    "run_id", "tick", "position", "id", "entry_type", "from_type", "from_id", "to_type", "to_id",
    "resource", "quantity", "memo", "correlation_id",
)  # fmt: skip

# Verify streams history in chunks of whole ticks of about this many entries.
CHUNK_ENTRIES = 50_000


def entry_rows(run_id: str, tick: int, entries: Sequence[Entry]) -> list[tuple[Any, ...]]:
    """Rows in ENTRY_COLUMNS order; WORLD and VOID ids are stored as the book keys them ("")."""
    rows = []
    for position, entry in enumerate(entries):
        source, target = entry.from_account, entry.to_account
        rows.append(
            (
                run_id, tick, position, entry.id, entry.entry_type, source[0], source[1],
                target[0], target[1], entry.resource, entry.quantity, entry.memo,
                entry.correlation_id,
            )
        )  # fmt: skip
    return rows


def entry_from_row(row: Sequence[Any]) -> Entry:
    """From the columns after run_id and position: tick, id, entry_type, ..., correlation_id."""
    (tick, entry_id, entry_type, from_type, from_id, to_type, to_id, resource, quantity, memo,
     correlation_id) = row  # fmt: skip
    return Entry(
        int(tick), entry_type, from_type, from_id, to_type, to_id, resource, int(quantity),
        memo, correlation_id, entry_id,
    )  # fmt: skip


SELECT_ENTRY = (
    "tick, position, id, entry_type, from_type, from_id, to_type, to_id, resource, quantity, "
    "memo, correlation_id"
)


def anomalies_to_json(anomalies: Sequence[Anomaly]) -> str:
    return json.dumps(
        [[a.code, a.message, a.resource, a.expected, a.actual] for a in anomalies],
        separators=(",", ":"),
    )


def anomalies_from_json(text: str) -> tuple[Anomaly, ...]:
    return tuple(Anomaly(*item) for item in json.loads(text or "[]"))


def history_filter(query: HistoryQuery, placeholder: Callable[[int], str]) -> tuple[str, list[Any]]:
    """WHERE clause and arguments; `placeholder(n)` renders the n-th (1-based) parameter."""
    arguments: list[Any] = [query.run_id, query.from_tick]
    clauses = [f"run_id = {placeholder(1)}", f"tick >= {placeholder(2)}"]

    def add(value: Any) -> str:
        arguments.append(value)
        return placeholder(len(arguments))

    if query.to_tick is not None:
        clauses.append(f"tick <= {add(query.to_tick)}")
    if query.resource is not None:
        clauses.append(f"resource = {add(query.resource)}")
    if query.account is not None:
        entity_type, entity_id = query.account
        type_mark, id_mark = add(entity_type), add(entity_id)
        clauses.append(
            f"((from_type = {type_mark} AND from_id = {id_mark}) "
            f"OR (to_type = {type_mark} AND to_id = {id_mark}))"
        )
    if query.after is not None:
        tick_mark, position_mark = add(query.after[0]), add(query.after[1])
        clauses.append(f"(tick, position) > ({tick_mark}, {position_mark})")
    return " AND ".join(clauses), arguments


def tick_chunks(counts: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Group (tick, entry count) pairs into runs of whole ticks of about CHUNK_ENTRIES entries."""
    chunks: list[list[int]] = []
    size = CHUNK_ENTRIES
    for tick, count in counts:
        if size + count > CHUNK_ENTRIES and (not chunks or chunks[-1]):
            chunks.append([])
            size = 0
        chunks[-1].append(tick)
        size += count
    return chunks
