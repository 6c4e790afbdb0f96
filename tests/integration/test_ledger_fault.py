"""Fault test: a real emergence-ledger process killed in the middle of a large CommitTick.

After a restart the tick is either wholly applied or not at all, Verify holds, and the client's
retry of the same request is applied exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from emergence.mesh.channels import insecure_channel
from emergence.v1 import common_pb2, ledger_pb2, ledger_service_pb2_grpc
from emergence.v1 import ledger_service_pb2 as pb

ROOT = Path(__file__).resolve().parents[2]
AGENTS = 4000
PER_AGENT = 10  # 40 000 entries in the big tick: long enough to be killed while writing
RUN = "run-fault"


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
    return pb.CommitTickRequest(run_id=RUN, tick=0, entries=[entry])


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


async def commit_and_kill(
    store_url: str, log: Path, request: pb.CommitTickRequest, fraction: float, took: float
) -> None:
    async with ledger_stub(store_url, log) as (process, stub):
        call = asyncio.ensure_future(stub.CommitTick(request, timeout=60))
        await asyncio.sleep(took * fraction)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        with contextlib.suppress(grpc.aio.AioRpcError):
            await call


async def test_sigkill_mid_commit_is_all_or_nothing_and_retry_applies_once(
    store_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "ledger.log"
    request = pb.CommitTickRequest(run_id=RUN, tick=1, entries=big_tick())
    async with ledger_stub(store_url, log) as (_, stub):
        assert (await stub.CommitTick(genesis())).applied
        # How long a whole commit of the big tick takes here, measured on another run.
        started = time.perf_counter()
        probe = pb.CommitTickRequest(run_id="run-probe", tick=0, entries=big_tick())
        for entry in probe.entries:
            entry.tick = 0
            entry.entry_type = ledger_pb2.ENTRY_TYPE_CRAFT
            entry.from_account.entity_type = ledger_pb2.ENTITY_TYPE_WORLD
        assert (await stub.CommitTick(probe)).applied
        took = time.perf_counter() - started
    # Kills spread over the commit, from decoding to the store transaction, until one lands late
    # enough that the tick was stored.
    outcomes = []
    for fraction in (0.4, 0.55, 0.7, 0.8, 0.9, 1.0):
        await commit_and_kill(store_url, log, request, fraction, took)
        async with ledger_stub(store_url, log) as (_, stub):
            stored = await entries_at_tick_1(stub)
            assert stored in (0, len(request.entries)), f"half a tick stored: {stored}"
            outcomes.append(stored)
            if stored:
                break
    async with ledger_stub(store_url, log) as (_, stub):
        retry = await stub.CommitTick(request, timeout=60)
        assert retry.applied
        assert retry.duplicate == bool(outcomes[-1])
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
    request = pb.CommitTickRequest(run_id=RUN, tick=1, entries=big_tick())
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
