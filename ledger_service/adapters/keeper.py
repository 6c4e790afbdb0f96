"""The book keeper: one in-memory Book per run in front of a store; the service's behaviour."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from emergence.mesh.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from ledger_service.adapters.store import HistoryQuery, LedgerStore, StoredEntry, TickRecord
from ledger_service.core import (
    Account,
    Anomaly,
    AuditResult,
    Book,
    Entry,
    Rejection,
    Replay,
    payload_hash,
)


@dataclass(frozen=True, slots=True)
class CommitOutcome:
    applied: bool
    duplicate: bool
    digest: str
    rejections: tuple[Rejection, ...] = ()
    anomalies: tuple[Anomaly, ...] = ()
    entries_applied: int = 0
    check_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class VerifyOutcome:
    result: AuditResult
    last_tick: int
    verify_ms: float


@dataclass(frozen=True, slots=True)
class RewindOutcome:
    entries_removed: int
    last_tick: int
    digest: str


@dataclass
class _Run:
    book: Book
    first_tick: int | None
    last_tick: int | None
    final_tick: int | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _require_run_id(run_id: str) -> None:
    if not run_id:
        raise InvalidArgument("run_id: must not be empty", hint="pass the run's id")


class BookKeeper:
    """Single writer per run: commits are serialised by a per-run lock, and memory changes only
    after the store committed, so a failed write leaves memory and disk agreeing."""

    def __init__(self, store: LedgerStore) -> None:
        self.store = store
        self._runs: dict[str, _Run] = {}
        self._loading: dict[str, asyncio.Lock] = {}

    async def _run(self, run_id: str) -> _Run:
        lock = self._loading.setdefault(run_id, asyncio.Lock())
        async with lock:
            run = self._runs.get(run_id)
            if run is None:
                stored = await self.store.load_run(run_id)
                run = _Run(
                    Book(stored.balances), stored.first_tick, stored.last_tick, stored.final_tick
                )
                self._runs[run_id] = run
        return run

    @contextlib.asynccontextmanager
    async def _locked(self, run_id: str) -> AsyncIterator[_Run]:
        """The run's state under its lock, re-fetched if a Rewind replaced it while we waited."""
        while True:
            run = await self._run(run_id)
            await run.lock.acquire()
            if self._runs.get(run_id) is run:
                break
            run.lock.release()
        try:
            yield run
        finally:
            run.lock.release()

    async def commit_tick(
        self,
        run_id: str,
        tick: int,
        entries: Sequence[Entry],
        engine_digest: str = "",
        *,
        final: bool = False,
    ) -> CommitOutcome:
        _require_run_id(run_id)
        payload = payload_hash(tick, entries, engine_digest)
        async with self._locked(run_id) as run:
            if run.last_tick is not None and tick <= run.last_tick:
                return await self._repeat(run_id, run, tick, payload)
            if run.final_tick is not None:
                raise FailedPrecondition(
                    f"run {run_id} ended with tick {run.final_tick}: the ledger takes no later tick",
                    hint="start a new run (or fork this one) to go on",
                )
            if run.last_tick is not None and tick != run.last_tick + 1:
                raise FailedPrecondition(
                    f"tick {tick} of run {run_id} would leave a gap: the ledger has ticks up to "
                    f"{run.last_tick}",
                    hint=f"commit tick {run.last_tick + 1} next, or Rewind first",
                )
            started = time.perf_counter()
            plan = run.book.plan_tick(tick, entries)
            check_ms = (time.perf_counter() - started) * 1000
            if not plan.accepted:
                return CommitOutcome(False, False, plan.digest, plan.rejections, check_ms=check_ms)
            anomalies = plan.anomalies + _digest_anomaly(engine_digest, plan.digest)
            record = TickRecord(
                run_id, tick, payload, plan.digest, plan.entries_applied, anomalies, final
            )
            try:
                await self.store.commit_tick(record, entries, plan.changes)
            except BaseException:
                # The store is the truth after a failed write; reload it on next use.
                self._runs.pop(run_id, None)
                raise
            run.book.apply(plan)
            run.last_tick = tick
            run.first_tick = tick if run.first_tick is None else run.first_tick
            run.final_tick = tick if final else None
            return CommitOutcome(
                True, False, plan.digest, (), anomalies, plan.entries_applied, check_ms
            )

    async def _repeat(self, run_id: str, run: _Run, tick: int, payload: str) -> CommitOutcome:
        record = await self.store.tick_record(run_id, tick)
        if record is None:
            raise FailedPrecondition(
                f"tick {tick} is before tick {run.first_tick}, the first tick run {run_id} "
                "committed to the ledger",
                hint="a run's ticks are committed in order from its first tick",
            )
        if record.payload_hash != payload:
            hint = (
                f"Rewind the run to tick {tick - 1} before committing a new version of it"
                if run.first_tick is not None and tick > run.first_tick
                else "the first tick of a run cannot be replaced; use a new run id"
            )
            raise AlreadyExists(
                f"tick {tick} of run {run_id} was already committed with a different payload",
                hint=hint,
            )
        return CommitOutcome(
            True, True, record.ledger_digest, (), record.anomalies, record.entries_applied
        )

    async def balances(
        self,
        run_id: str,
        accounts: Sequence[tuple[str, str]] = (),
        resource: str | None = None,
        include_zero: bool = False,
    ) -> tuple[list[tuple[Account, int]], int]:
        _require_run_id(run_id)
        run = await self._run(run_id)
        wanted = {(entity_type, entity_id) for entity_type, entity_id in accounts}
        chosen = [
            (key, quantity)
            for key, quantity in sorted(run.book.balances.items())
            if (include_zero or quantity)
            and (resource is None or key[2] == resource)
            and (not wanted or (key[0], key[1]) in wanted)
        ]
        return chosen, run.last_tick or 0

    async def history(self, query: HistoryQuery) -> tuple[list[StoredEntry], bool]:
        """A page of entries and whether more follow."""
        _require_run_id(query.run_id)
        limit = query.limit
        rows = await self.store.history(
            HistoryQuery(
                query.run_id,
                query.from_tick,
                query.to_tick,
                query.account,
                query.resource,
                query.after,
                limit + 1,
            )
        )
        return rows[:limit], len(rows) > limit

    async def verify(self, run_id: str) -> VerifyOutcome:
        _require_run_id(run_id)
        started = time.perf_counter()
        async with self._locked(run_id) as run:
            if run.last_tick is None:
                raise NotFound(
                    f"run {run_id} has no committed ticks in this ledger",
                    hint="check the run id and the ledger store URL",
                )
            stored = await self.store.load_run(run_id)
            replay = Replay()
            async for tick, entries in self.store.ticks(run_id):
                replay.add_tick(tick, entries)
            result = replay.finish(stored.balances)
            last_tick = run.last_tick
        return VerifyOutcome(result, last_tick, (time.perf_counter() - started) * 1000)

    async def rewind(self, run_id: str, tick: int) -> RewindOutcome:
        _require_run_id(run_id)
        async with self._locked(run_id) as run:
            if run.final_tick is not None and tick + 1 < run.final_tick:
                raise FailedPrecondition(
                    f"run {run_id} ended with tick {run.final_tick}: a rewind may only take back "
                    f"that last tick (to tick {run.final_tick - 1}), not go to tick {tick}",
                    hint="fork the run at an earlier tick instead",
                )
            try:
                removed = await self.store.rewind(run_id, tick)
            finally:
                self._runs.pop(run_id, None)
            fresh = await self._run(run_id)
        return RewindOutcome(removed, fresh.last_tick or 0, fresh.book.digest())


def _digest_anomaly(engine_digest: str, ledger_digest: str) -> tuple[Anomaly, ...]:
    if not engine_digest or engine_digest == ledger_digest:
        return ()
    return (
        Anomaly(
            "DIGEST_MISMATCH",
            f"the engine's balance digest {engine_digest[:16]}… differs from the ledger's "
            f"{ledger_digest[:16]}…: engine state and ledger disagree on some holding",
        ),
    )
