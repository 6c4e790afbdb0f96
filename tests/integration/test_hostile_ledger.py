"""The ledger against callers that are not the run's engine, and against writes no engine makes:
unauthenticated commits and rewinds, another run's key, empty digests, gaps, finished runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from emergence.mesh.channels import insecure_channel
from emergence.mesh.security import bearer_metadata, run_key
from emergence.v1 import common_pb2, ledger_pb2, ledger_service_pb2_grpc
from emergence.v1 import ledger_service_pb2 as pb
from ledger_service.app import create_ledger_server

SERVICE_TOKEN = "service-secret-for-tests"
RUN = "run-hostile"
DIGEST = "0" * 64
Stub = ledger_service_pb2_grpc.LedgerStub


def key(run_id: str = RUN) -> tuple[tuple[str, str], ...]:
    return bearer_metadata(run_key(SERVICE_TOKEN, run_id))


def regrowth(tick: int, quantity: int = 5) -> list[ledger_pb2.LedgerEntry]:
    return [
        ledger_pb2.LedgerEntry(
            tick=tick,
            entry_type=ledger_pb2.ENTRY_TYPE_REGENERATION,
            from_account=ledger_pb2.AccountRef(entity_type=ledger_pb2.ENTITY_TYPE_WORLD),
            to_account=ledger_pb2.AccountRef(
                entity_type=ledger_pb2.ENTITY_TYPE_LOCATION_NODE, entity_id="spring"
            ),
            resource=common_pb2.RESOURCE_WATER,
            quantity=quantity,
        )
    ]


def commit(tick: int, *, final: bool = False, digest: str = DIGEST) -> pb.CommitTickRequest:
    return pb.CommitTickRequest(
        run_id=RUN, tick=tick, entries=regrowth(tick), engine_digest=digest, final=final
    )


@pytest.fixture
async def stub(tmp_path: Path) -> AsyncIterator[Stub]:
    server = await create_ledger_server(
        "127.0.0.1:0", f"sqlite:///{tmp_path / 'l.sqlite'}", service_token=SERVICE_TOKEN
    )
    try:
        async with insecure_channel(server.address) as channel:
            yield ledger_service_pb2_grpc.LedgerStub(channel)
    finally:
        await server.close()


async def refused(call: object, code: grpc.StatusCode) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code() == code, caught.value.details()
    return caught.value.details() or ""


async def last_tick(stub: Stub) -> int:
    return int((await stub.GetBalances(pb.GetBalancesRequest(run_id=RUN))).last_tick)


async def test_writes_without_the_runs_key_are_refused_and_change_nothing(stub: Stub) -> None:
    await stub.CommitTick(commit(0), metadata=key())
    await stub.CommitTick(commit(1), metadata=key())
    details = await refused(stub.CommitTick(commit(2)), grpc.StatusCode.UNAUTHENTICATED)
    assert "needs the run's key" in details
    other_run = stub.CommitTick(commit(2), metadata=key("run-other"))
    assert "does not belong to run" in await refused(other_run, grpc.StatusCode.UNAUTHENTICATED)
    forged = stub.CommitTick(commit(2), metadata=bearer_metadata(SERVICE_TOKEN))
    await refused(forged, grpc.StatusCode.UNAUTHENTICATED)
    rewind = stub.Rewind(pb.RewindRequest(run_id=RUN, tick=0))
    await refused(rewind, grpc.StatusCode.UNAUTHENTICATED)
    assert await last_tick(stub) == 1
    # Reads stay open: verify needs no key.
    assert (await stub.Verify(pb.VerifyRequest(run_id=RUN))).ok


async def test_empty_or_malformed_digests_are_refused(stub: Stub) -> None:
    for digest in ("", "abc", "Z" * 64, "0" * 63 + "\x00"):
        call = stub.CommitTick(commit(0, digest=digest), metadata=key())
        assert "engine_digest" in await refused(call, grpc.StatusCode.INVALID_ARGUMENT)


async def test_a_gap_is_refused(stub: Stub) -> None:
    await stub.CommitTick(commit(0), metadata=key())
    gap = stub.CommitTick(commit(2), metadata=key())
    assert "gap" in await refused(gap, grpc.StatusCode.FAILED_PRECONDITION)


async def test_a_finished_run_takes_no_tick_and_rewinds_only_its_last(stub: Stub) -> None:
    for tick in range(3):
        await stub.CommitTick(commit(tick), metadata=key())
    await stub.CommitTick(commit(3, final=True), metadata=key())
    # A billion units of water on tick 4 of a run that has ended:
    late = pb.CommitTickRequest(
        run_id=RUN, tick=4, entries=regrowth(4, 10**9), engine_digest=DIGEST
    )
    assert "ended with tick 3" in await refused(
        stub.CommitTick(late, metadata=key()), grpc.StatusCode.FAILED_PRECONDITION
    )
    to_genesis = stub.Rewind(pb.RewindRequest(run_id=RUN, tick=0), metadata=key())
    assert "only take back" in await refused(to_genesis, grpc.StatusCode.FAILED_PRECONDITION)
    assert await last_tick(stub) == 3
    # A retry of the final tick is still the same answer (idempotent).
    assert (await stub.CommitTick(commit(3, final=True), metadata=key())).duplicate
    # The engine resuming after a crash between its ledger and store commits takes it back.
    rewound = await stub.Rewind(pb.RewindRequest(run_id=RUN, tick=2), metadata=key())
    assert rewound.last_tick == 2
    assert (await stub.CommitTick(commit(3, final=True), metadata=key())).applied


async def test_hostile_entry_texts_are_refused(stub: Stub) -> None:
    request = commit(0)
    request.entries[0].memo = "x" * 5_000
    assert "memo" in await refused(
        stub.CommitTick(request, metadata=key()), grpc.StatusCode.INVALID_ARGUMENT
    )
    request = commit(0)
    request.entries[0].to_account.entity_id = "spring\x00; DROP TABLE"
    details = await refused(
        stub.CommitTick(request, metadata=key()), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert "to_account.entity_id" in details
