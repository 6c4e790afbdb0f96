"""The event store: runs, events, decisions, tick rows, snapshots, alerts (SQLite or PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from emergence.mesh.errors import ConfigurationError
from emergence.v1 import event_pb2, run_pb2


@dataclass
class TickRecord:
    """Everything one tick writes, in one transaction."""

    run_id: str
    tick: int
    events: list[event_pb2.Event]
    decisions: list[run_pb2.Decision]
    summary: run_pb2.TickSummary
    history_hash: str
    ledger_digest: str
    alerts: list[run_pb2.Alert] = field(default_factory=list)
    snapshot: bytes | None = None
    # The events already serialized (in order), when the caller has them: written as they are.
    event_payloads: list[bytes] | None = None

    def serialized_events(self) -> list[bytes]:
        if self.event_payloads is not None:
            return self.event_payloads
        return [event.SerializeToString() for event in self.events]


@dataclass(frozen=True)
class TickRow:
    tick: int
    history_hash: str
    ledger_digest: str
    event_count: int
    summary: run_pb2.TickSummary


# Ticks are stored as signed 64-bit integers; no run gets near this.
MAX_TICK = 2**63 - 1


@dataclass(frozen=True)
class Selection:
    """One page of events or decisions: the filters and the keyset position to continue after."""

    from_tick: int = 0
    to_tick: int | None = None
    types: list[int] | None = None
    agent_id: str = ""
    location_ids: list[str] | None = None  # None: any place; events only
    after: tuple[int, int] | tuple[int, str] | None = None
    key_columns: tuple[str, str] = ("tick", "seq")
    newest_first: bool = False


@dataclass
class HistoryQuery:
    """A filtered SELECT over one history table, written once for both stores.

    Only the placeholders differ: SQLite's `?` and asyncpg's `$n`. The filters of the Observer
    (tick range, event types, agent, limit) are the same for events and decisions.
    """

    table: str
    numbered: bool  # True: $1, $2 (asyncpg); False: ? (sqlite3)
    parameters: list[object] = field(default_factory=list)
    clauses: list[str] = field(default_factory=list)
    descending: bool = False

    def _slot(self, value: object) -> str:
        self.parameters.append(value)
        return f"${len(self.parameters)}" if self.numbered else "?"

    def where(self, column: str, operator: str, value: object) -> HistoryQuery:
        self.clauses.append(f"{column} {operator} {self._slot(value)}")
        return self

    def where_in(self, column: str, values: list[int] | list[str]) -> HistoryQuery:
        slots = ", ".join(self._slot(value) for value in values)
        self.clauses.append(f"{column} IN ({slots})")
        return self

    def filtered(
        self,
        run_id: str,
        from_tick: int,
        to_tick: int | None,
        agent_id: str,
        types: list[int] | None = None,
    ) -> HistoryQuery:
        self.where("run_id", "=", run_id).where("tick", ">=", from_tick)
        if to_tick is not None:
            self.where("tick", "<=", to_tick)
        if types:
            self.where_in("type", types)
        if agent_id:
            self.where("agent_id", "=", agent_id)
        return self

    def after(
        self, columns: tuple[str, str], key: tuple[int, int] | tuple[int, str]
    ) -> HistoryQuery:
        """Keyset paging: rows strictly after `key` in (columns) order, e.g. (tick, seq)."""
        first, second = (self._slot(value) for value in key)
        operator = "<" if self.descending else ">"
        self.clauses.append(f"({columns[0]}, {columns[1]}) {operator} ({first}, {second})")
        return self

    def selected(self, run_id: str, selection: Selection) -> HistoryQuery:
        """The Observer's filters; every one of them is a WHERE clause, so paging stays in SQL."""
        self.descending = selection.newest_first
        self.filtered(
            run_id, selection.from_tick, selection.to_tick, selection.agent_id, selection.types
        )
        if selection.location_ids is not None:
            # An empty list (a region with no places) must match nothing, not everything.
            if selection.location_ids:
                self.where_in("location_id", selection.location_ids)
            else:
                self.clauses.append("1 = 0")
        if selection.after is not None:
            self.after(selection.key_columns, selection.after)
        return self

    def sql(self, order_by: str, limit: int | None = None) -> str:
        text = f"SELECT payload FROM {self.table} WHERE {' AND '.join(self.clauses)}"
        if self.descending:
            order_by = ", ".join(f"{column.strip()} DESC" for column in order_by.split(","))
        text += f" ORDER BY {order_by}"
        if limit is not None:
            text += f" LIMIT {self._slot(limit)}"
        return text


class EventStore(Protocol):
    """One interface, two implementations; the contract tests run against both."""

    location: str

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def save_run(self, run: run_pb2.Run) -> None: ...
    async def get_run(self, run_id: str) -> run_pb2.Run | None: ...
    async def list_runs(self) -> list[run_pb2.Run]: ...
    async def write_tick(self, record: TickRecord) -> None: ...
    async def events(
        self,
        run_id: str,
        from_tick: int = 0,
        to_tick: int | None = None,
        types: list[int] | None = None,
        agent_id: str = "",
        limit: int | None = None,
    ) -> list[event_pb2.Event]: ...
    async def tick_rows(
        self, run_id: str, from_tick: int = 0, to_tick: int | None = None
    ) -> list[TickRow]: ...
    async def decisions(
        self, run_id: str, from_tick: int = 0, to_tick: int | None = None, agent_id: str = ""
    ) -> list[run_pb2.Decision]: ...
    async def snapshot_at_or_before(self, run_id: str, tick: int) -> tuple[int, bytes] | None: ...
    async def save_snapshot(self, run_id: str, tick: int, payload: bytes) -> None: ...
    async def last_tick(self, run_id: str) -> int: ...
    async def truncate_after(self, run_id: str, tick: int) -> None: ...
    async def alerts(self, run_id: str, from_tick: int = 0) -> list[run_pb2.Alert]: ...
    async def events_page(
        self, run_id: str, selection: Selection, limit: int
    ) -> list[event_pb2.Event]: ...
    async def decisions_page(
        self, run_id: str, selection: Selection, limit: int
    ) -> list[run_pb2.Decision]: ...

    # The outbox: each tick's row is written in the tick's transaction and deleted once the bus
    # has the tick, so a bus outage or a crash delays its events and never loses them.
    async def unpublished_ticks(self, run_id: str) -> list[int]: ...
    async def mark_published(self, run_id: str, tick: int) -> None: ...
    # One engine per run: a claim lasts as long as the claiming process (a lock the operating
    # system or PostgreSQL drops when it dies), so a crashed engine's run can be taken over.
    async def claim_run(self, run_id: str) -> bool: ...


def sqlite_path(url: str) -> str:
    """`sqlite:///relative/file` -> `relative/file`; `sqlite:////absolute/file` -> `/absolute/file`."""
    if not url.startswith("sqlite:///"):
        raise ConfigurationError("store", f"{url!r} is not a sqlite URL", hint="use sqlite:///FILE")
    return url[len("sqlite:///") :]


def open_event_store(url: str) -> EventStore:
    """`sqlite:///path/file.sqlite` or `postgresql://...`."""
    if url.startswith("sqlite://"):
        from engine.adapters.sqlite_store import SqliteEventStore

        return SqliteEventStore(sqlite_path(url))
    if url.startswith(("postgresql://", "postgres://")):
        from engine.adapters.postgres_store import PostgresEventStore

        return PostgresEventStore(url)
    raise ConfigurationError(
        "storage.database_url",
        f"unsupported store URL {url!r}",
        hint="use sqlite:///FILE or postgresql://...",
    )
