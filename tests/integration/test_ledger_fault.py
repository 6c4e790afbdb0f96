"""Fault test: a real emergence-ledger process killed with SIGKILL during a large CommitTick.

The kill is timed by watching the store from outside, not by the clock: once while the tick's
store transaction is open (the process is stopped first and the transaction seen still open, so
the kill surely lands mid-transaction), once just after the tick committed. After a restart the
tick is wholly absent or wholly present, and the client's retry of the same request is applied
exactly once: applied fresh in the first case, answered as a duplicate in the second.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import grpc
import pytest

from emergence.mesh.channels import insecure_channel
from emergence.v1 import common_pb2, ledger_pb2, ledger_service_pb2_grpc
from emergence.v1 import ledger_service_pb2 as pb

ROOT = Path(__file__).resolve().parents[2]
AGENTS = 4000
PER_AGENT = 10  # 40 000 entries in the big tick: long enough to be killed while writing
RUN = "run-fault"
# A well-formed engine digest; these tests are about atomicity, not the digest comparison.
DIGEST = "0" * 64
# How long a stopped ledger is given for what it already sent to reach the database.
SETTLE_SECONDS = 0.2


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    return str(request.getfixturevalue("postgres_dsn"))


@contextlib.asynccontextmanager
async def ledger_process(
    store_url: str, log: Path
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """Start `python -m ledger_service.app` on a free port; yield (process, address)."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("ab") as errors:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ledger_service.app", "--address", "127.0.0.1:0",
            "--store", store_url,
            cwd=ROOT, env=environment, stdout=asyncio.subprocess.PIPE, stderr=errors,
        )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert line.startswith("ledger serving on "), f"{line!r}; see {log}"
        yield process, line.split()[3].rstrip(",")
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


@contextlib.asynccontextmanager
async def ledger_stub(
    store_url: str, log: Path
) -> AsyncIterator[tuple[asyncio.subprocess.Process, ledger_service_pb2_grpc.LedgerStub]]:
    async with (
        ledger_process(store_url, log) as (process, address),
        insecure_channel(address) as channel,
    ):
        yield process, ledger_service_pb2_grpc.LedgerStub(channel)


def big_tick() -> list[ledger_pb2.LedgerEntry]:
    node = ledger_pb2.AccountRef(entity_type=ledger_pb2.ENTITY_TYPE_LOCATION_NODE, entity_id="n")
    entries = []
    for index in range(AGENTS * PER_AGENT):
        agent = ledger_pb2.AccountRef(
            entity_type=ledger_pb2.ENTITY_TYPE_AGENT, entity_id=f"agent-{index % AGENTS:05d}"
        )
        entries.append(
            ledger_pb2.LedgerEntry(
                tick=1,
                entry_type=ledger_pb2.ENTRY_TYPE_GATHER,
                from_account=node,
                to_account=agent,
                resource=common_pb2.RESOURCE_WOOD,
                quantity=1,
            )
        )
    return entries


def genesis() -> pb.CommitTickRequest:
    entry = ledger_pb2.LedgerEntry(
        tick=0,
        entry_type=ledger_pb2.ENTRY_TYPE_REGENERATION,
        from_account=ledger_pb2.AccountRef(entity_type=ledger_pb2.ENTITY_TYPE_WORLD),
        to_account=ledger_pb2.AccountRef(
            entity_type=ledger_pb2.ENTITY_TYPE_LOCATION_NODE, entity_id="n"
        ),
        resource=common_pb2.RESOURCE_WOOD,
        quantity=10**9,
    )
    return pb.CommitTickRequest(run_id=RUN, tick=0, entries=[entry], engine_digest=DIGEST)


async def entries_at_tick_1(stub: ledger_service_pb2_grpc.LedgerStub) -> int:
    count, token = 0, ""
    while True:
        page = await stub.History(
            pb.HistoryRequest(
                run_id=RUN, from_tick=1, to_tick=1, page_size=10_000, page_token=token
            )
        )
        count += len(page.entries)
        token = page.next_page_token
        if not token:
            return count


class StoreProbe:
    """Looks at the ledger's store from outside the ledger process."""

    def __init__(self, store_url: str) -> None:
        self.store_url = store_url
        self._sqlite: sqlite3.Connection | None = None
        self._postgres: asyncpg.Connection | None = None

    async def __aenter__(self) -> StoreProbe:
        if self.store_url.startswith("sqlite:///"):
            # timeout=0: a held write lock is reported at once instead of waited for.
            self._sqlite = sqlite3.connect(
                self.store_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None
            )
        else:
            self._postgres = await asyncpg.connect(self.store_url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
        if self._postgres is not None:
            await self._postgres.close()

    async def inside_commit(self) -> bool:
        """True while a ledger transaction that writes is open and has not been asked to commit."""
        if self._sqlite is not None:
            try:
                self._sqlite.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:  # database is locked: the ledger is writing
                return True
            self._sqlite.execute("ROLLBACK")
            return False
        assert self._postgres is not None
        return bool(
            await self._postgres.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL "
                "AND state IN ('active', 'idle in transaction') AND query NOT ILIKE 'COMMIT%'"
            )
        )

    async def committed(self) -> bool:
        """True once tick 1 of the run is committed."""
        if self._sqlite is not None:
            query = "SELECT count(*) FROM ledger_ticks WHERE run_id = ? AND tick = 1"
            return bool(self._sqlite.execute(query, (RUN,)).fetchone()[0])
        assert self._postgres is not None
        query = "SELECT count(*) FROM ledger.ticks WHERE run_id = $1 AND tick = 1"
        return bool(await self._postgres.fetchval(query, RUN))


async def wait_for(condition: Callable[[], Awaitable[bool]], call: asyncio.Future[object]) -> None:
    deadline = time.monotonic() + 60
    while not await condition():
        assert not call.done(), "the commit finished before the moment to kill it was seen"
        assert time.monotonic() < deadline, "the moment to kill the ledger never came"
        await asyncio.sleep(0.001)


async def freeze_inside_commit(
    process: asyncio.subprocess.Process, probe: StoreProbe, call: asyncio.Future[object]
) -> None:
    """Stop the ledger process while its store transaction is open, and make sure it still is:
    a stopped process cannot commit, so the SIGKILL that follows lands mid-transaction."""
    while True:
        await wait_for(probe.inside_commit, call)
        process.send_signal(signal.SIGSTOP)
        await asyncio.sleep(SETTLE_SECONDS)  # whatever was already sent reaches the database
        if await probe.inside_commit():
            return
        process.send_signal(signal.SIGCONT)


async def commit_and_kill(
    store_url: str, log: Path, request: pb.CommitTickRequest, when: str
) -> None:
    async with StoreProbe(store_url) as probe, ledger_stub(store_url, log) as (process, stub):
        call = asyncio.ensure_future(stub.CommitTick(request, timeout=60))
        if when == "inside the store transaction":
            await freeze_inside_commit(process, probe, call)
        else:
            await wait_for(probe.committed, call)
        process.send_signal(signal.SIGKILL)
        assert await process.wait() == -signal.SIGKILL
        with contextlib.suppress(grpc.aio.AioRpcError):
            await call


@pytest.mark.parametrize("when", ["inside the store transaction", "right after the commit"])
async def test_sigkill_mid_commit_is_all_or_nothing_and_retry_applies_once(
    store_url: str, tmp_path: Path, when: str
) -> None:
    log = tmp_path / "ledger.log"
    request = pb.CommitTickRequest(run_id=RUN, tick=1, entries=big_tick(), engine_digest=DIGEST)
    async with ledger_stub(store_url, log) as (_, stub):
        assert (await stub.CommitTick(genesis())).applied
    await commit_and_kill(store_url, log, request, when)
    expected = 0 if when == "inside the store transaction" else len(request.entries)
    async with ledger_stub(store_url, log) as (_, stub):
        assert await entries_at_tick_1(stub) == expected, "not all-or-nothing"
        balances = await stub.GetBalances(pb.GetBalancesRequest(run_id=RUN))
        # WORLD and the node, plus every agent when the tick is there.
        assert (balances.last_tick, len(balances.balances)) == (
            (1, 2 + AGENTS) if expected else (0, 2)
        )
    # The client's retry of the very same request, to a restarted ledger.
    async with ledger_stub(store_url, log) as (_, stub):
        retry = await stub.CommitTick(request, timeout=60)
        assert retry.applied
        assert retry.duplicate == bool(expected)
        assert retry.entries_applied == len(request.entries)
        assert await entries_at_tick_1(stub) == len(request.entries)
        verified = await stub.Verify(pb.VerifyRequest(run_id=RUN), timeout=60)
        assert verified.ok, verified.anomalies
        assert verified.entries_checked == 1 + len(request.entries)
        held = await stub.GetBalances(
            pb.GetBalancesRequest(
                run_id=RUN,
                accounts=[
                    ledger_pb2.AccountRef(
                        entity_type=ledger_pb2.ENTITY_TYPE_AGENT, entity_id="agent-00000"
                    )
                ],
            )
        )
        assert [b.quantity for b in held.balances] == [PER_AGENT]


async def test_sigterm_lets_the_running_commit_finish(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    log = tmp_path / "ledger.log"
    request = pb.CommitTickRequest(run_id=RUN, tick=1, entries=big_tick(), engine_digest=DIGEST)
    async with ledger_stub(store_url, log) as (process, stub):
        await stub.CommitTick(genesis())
        call = asyncio.ensure_future(stub.CommitTick(request, timeout=60))
        await asyncio.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        reply = await call
        assert reply.applied and reply.entries_applied == len(request.entries)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    async with ledger_stub(store_url, log) as (_, stub):
        assert await entries_at_tick_1(stub) == len(request.entries)
        assert (await stub.CommitTick(request)).duplicate
