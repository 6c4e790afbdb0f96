"""The ledger's storage interface, its records, and `open_store(url)` choosing an implementation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from emergence.mesh.errors import ConfigurationError
from ledger_service.core import Account, Anomaly, Entry


@dataclass(frozen=True, slots=True)
class TickRecord:
    """The answer given when a tick was committed, kept so a retry gets the same answer."""

    run_id: str
    tick: int
    payload_hash: str
    ledger_digest: str
    entries_applied: int
    anomalies: tuple[Anomaly, ...] = ()
    # The run ended with this tick (kept apart from the record's answer: not part of a retry).
    final: bool = False


@dataclass(frozen=True, slots=True)
class StoredRun:
    """What the service loads on first use of a run: balances and the committed tick range."""

    balances: dict[Account, int]
    first_tick: int | None
    last_tick: int | None
    # The tick the run ended with, once its engine committed it as final.
    final_tick: int | None = None


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """Entries of one run in (tick, position) order, after the `after` cursor, at most `limit`."""

    run_id: str
    from_tick: int = 0
    to_tick: int | None = None
    # (entity type, entity id): entries moving from or to it.
    account: tuple[str, str] | None = None
    resource: str | None = None
    after: tuple[int, int] | None = None
    limit: int = 1000


@dataclass(frozen=True, slots=True)
class StoredEntry:
    tick: int
    position: int
    entry: Entry


class LedgerStore(Protocol):
    """One run's book on disk. Every method is atomic; `commit_tick` is one transaction."""

    location: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def load_run(self, run_id: str) -> StoredRun: ...

    async def tick_record(self, run_id: str, tick: int) -> TickRecord | None: ...

    async def commit_tick(
        self, record: TickRecord, entries: Sequence[Entry], balances: Mapping[Account, int]
    ) -> None:
        """Insert the entries, upsert the given balances and the tick record, all or nothing."""

    async def history(self, query: HistoryQuery) -> list[StoredEntry]: ...

    def ticks(self, run_id: str) -> AsyncIterator[tuple[int, list[Entry]]]:
        """Every committed tick with its entries in order, streamed (for Verify)."""

    async def rewind(self, run_id: str, tick: int) -> int:
        """Drop entries and tick records after `tick`, rebuild balances; return entries dropped."""


def open_store(url: str) -> LedgerStore:
    """`sqlite:///path/to/ledger.sqlite` or `postgresql://user@host:port/db`."""
    if url.startswith("sqlite:///"):
        from ledger_service.adapters.sqlite_store import SqliteLedgerStore

        return SqliteLedgerStore(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        from ledger_service.adapters.postgres_store import PostgresLedgerStore

        return PostgresLedgerStore(url)
    raise ConfigurationError(
        "store",
        f"unsupported ledger store URL {url!r}",
        hint="use sqlite:///path/to/ledger.sqlite or postgresql://user@host:port/database",
    )
