"""The Ledger gRPC service over a real loopback server: status codes, messages, paging."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from emergence.mesh.channels import insecure_channel
from emergence.v1 import common_pb2, ledger_pb2, ledger_service_pb2_grpc
from emergence.v1 import ledger_service_pb2 as pb
from ledger_service.app import create_ledger_server

Stub = ledger_service_pb2_grpc.LedgerStub
RUN = "run-wire"
WOOD = common_pb2.RESOURCE_WOOD
# A well-formed engine digest; these tests are about the entries, not the digest comparison.
DIGEST = "0" * 64


def ref(entity_type: int, entity_id: str = "") -> ledger_pb2.AccountRef:
    return ledger_pb2.AccountRef(entity_type=entity_type, entity_id=entity_id)  # type: ignore[arg-type]


def entry(
    tick: int,
    entry_type: int,
    source: ledger_pb2.AccountRef,
    target: ledger_pb2.AccountRef,
    quantity: int,
    resource: int = WOOD,
) -> ledger_pb2.LedgerEntry:
    return ledger_pb2.LedgerEntry(
        tick=tick, entry_type=entry_type, from_account=source, to_account=target,  # type: ignore[arg-type]
        resource=resource, quantity=quantity,  # type: ignore[arg-type]
    )  # fmt: skip


WORLD = ref(ledger_pb2.ENTITY_TYPE_WORLD)
VOID = ref(ledger_pb2.ENTITY_TYPE_VOID)
NODE = ref(ledger_pb2.ENTITY_TYPE_LOCATION_NODE, "node-1")
AGENT = ref(ledger_pb2.ENTITY_TYPE_AGENT, "agent-1")


def day(tick: int) -> list[ledger_pb2.LedgerEntry]:
    return [
        entry(tick, ledger_pb2.ENTRY_TYPE_REGENERATION, WORLD, NODE, 6),
        entry(tick, ledger_pb2.ENTRY_TYPE_GATHER, NODE, AGENT, 4),
        entry(tick, ledger_pb2.ENTRY_TYPE_CONSUME, AGENT, VOID, 1),
    ]


@pytest.fixture
async def stub(tmp_path: Path) -> AsyncIterator[ledger_service_pb2_grpc.LedgerStub]:
    server = await create_ledger_server("127.0.0.1:0", f"sqlite:///{tmp_path / 'l.sqlite'}")
    try:
        async with insecure_channel(server.address) as channel:
            yield ledger_service_pb2_grpc.LedgerStub(channel)
    finally:
        await server.close()


async def commit(
    stub: Stub, tick: int, entries: list[ledger_pb2.LedgerEntry]
) -> pb.CommitTickResponse:
    request = pb.CommitTickRequest(run_id=RUN, tick=tick, entries=entries, engine_digest=DIGEST)
    return await stub.CommitTick(request)


async def invalid_argument(stub: Stub, entries: list[ledger_pb2.LedgerEntry]) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await commit(stub, 0, entries)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return caught.value.details() or ""


async def test_bad_quantity_names_the_entry_index_and_field(stub: Stub) -> None:
    entries = [*day(0) * 4, entry(0, ledger_pb2.ENTRY_TYPE_GATHER, NODE, AGENT, 0)]
    details = await invalid_argument(stub, entries)
    assert "entries[12].quantity: must be a positive whole number, got 0" in details
    details = await invalid_argument(
        stub, [entry(0, ledger_pb2.ENTRY_TYPE_GATHER, NODE, AGENT, -3)]
    )
    assert "entries[0].quantity: must be a positive whole number, got -3" in details


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (entry(0, 2, ref(0, "x"), AGENT, 1), "entries[0].from_account.entity_type: unknown entity type"),
        (entry(0, 2, NODE, ref(99, "x"), 1), "entries[0].to_account.entity_type: unknown entity type"),
        (entry(0, 2, NODE, AGENT, 1, resource=0), "entries[0].resource: unknown resource"),
        (entry(0, 4, AGENT, AGENT, 1), "entries[0].to_account: moves from AGENT 'agent-1' to itself"),
        (entry(0, 0, NODE, AGENT, 1), "entries[0].entry_type: unknown entry type"),
        (entry(0, 2, ref(4), AGENT, 1), "entries[0].from_account.entity_id: a LOCATION_NODE account needs"),
    ],
)  # fmt: skip
async def test_malformed_entries_are_invalid_argument(
    stub: Stub, broken: ledger_pb2.LedgerEntry, expected: str
) -> None:
    details = await invalid_argument(stub, [*day(0), broken])
    assert expected.replace("entries[0]", "entries[3]") in details
    assert "nothing of this tick was applied" in details
    balances = await stub.GetBalances(pb.GetBalancesRequest(run_id=RUN))
    assert list(balances.balances) == []


async def test_rule_rejections_are_values_and_nothing_applies(stub: Stub) -> None:
    entries = [*day(0), entry(0, ledger_pb2.ENTRY_TYPE_DROP, NODE, AGENT, 1)]
    entries.append(entry(0, ledger_pb2.ENTRY_TYPE_CONSUME, AGENT, VOID, 9))
    entries.append(entry(1, ledger_pb2.ENTRY_TYPE_CONSUME, AGENT, VOID, 1))
    reply = await commit(stub, 0, entries)
    assert not reply.applied
    assert [(r.entry_index, r.code, r.field) for r in reply.rejections] == [
        (3, ledger_pb2.LEDGER_REJECTION_CODE_PAIR_NOT_ALLOWED, "entry_type"),
        (4, ledger_pb2.LEDGER_REJECTION_CODE_INSUFFICIENT_BALANCE, "quantity"),
        (5, ledger_pb2.LEDGER_REJECTION_CODE_TICK_MISMATCH, "tick"),
    ]
    assert reply.rejections[1].message == (
        "entries[4].quantity: AGENT 'agent-1' holds 3 WOOD, cannot move 9"
    )
    assert (await stub.GetBalances(pb.GetBalancesRequest(run_id=RUN))).balances == []


async def test_retry_conflict_and_gap_over_the_wire(stub: Stub) -> None:
    first = await commit(stub, 0, day(0))
    again = await commit(stub, 0, day(0))
    assert first.applied and not first.duplicate and first.entries_applied == 3
    assert again.duplicate and again.ledger_digest == first.ledger_digest
    with pytest.raises(grpc.aio.AioRpcError) as conflict:
        await commit(stub, 0, day(0)[:1])
    assert conflict.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "first tick of a run cannot be replaced" in (conflict.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as gap:
        await commit(stub, 2, day(2))
    assert gap.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "commit tick 1 next" in (gap.value.details() or "")


async def test_digest_mismatch_is_reported_and_the_tick_still_applies(stub: Stub) -> None:
    reply = await stub.CommitTick(
        pb.CommitTickRequest(run_id=RUN, tick=0, entries=day(0), engine_digest="0" * 64)
    )
    assert reply.applied
    assert [a.code for a in reply.anomalies] == ["DIGEST_MISMATCH"]


async def test_history_pages_balances_verify_and_rewind(stub: Stub) -> None:
    digests = [(await commit(stub, tick, day(tick))).ledger_digest for tick in range(4)]
    seen, token = [], ""
    while True:
        page = await stub.History(pb.HistoryRequest(run_id=RUN, page_size=5, page_token=token))
        seen.extend(page.entries)
        token = page.next_page_token
        if not token:
            break
    assert [e.tick for e in seen] == [t for t in range(4) for _ in range(3)]
    mine = await stub.History(pb.HistoryRequest(run_id=RUN, account=AGENT, to_tick=1))
    assert len(mine.entries) == 4
    with pytest.raises(grpc.aio.AioRpcError) as bad_token:
        await stub.History(pb.HistoryRequest(run_id=RUN, page_token="not-ours"))
    assert bad_token.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in (bad_token.value.details() or "")
    held = await stub.GetBalances(pb.GetBalancesRequest(run_id=RUN, accounts=[AGENT]))
    assert [(b.resource, b.quantity) for b in held.balances] == [(WOOD, 12)]
    assert held.last_tick == 3
    verified = await stub.Verify(pb.VerifyRequest(run_id=RUN))
    assert verified.ok and verified.entries_checked == 12 and verified.ledger_digest == digests[3]
    assert [(r.world_in, r.void_out, r.held, r.conserved) for r in verified.resources] == [
        (24, 4, 20, True)
    ]
    rewound = await stub.Rewind(pb.RewindRequest(run_id=RUN, tick=1))
    assert (rewound.entries_removed, rewound.last_tick, rewound.ledger_digest) == (
        6,
        1,
        digests[1],
    )


async def test_health_reports_the_ledger_serving(tmp_path: Path) -> None:
    server = await create_ledger_server("127.0.0.1:0", f"sqlite:///{tmp_path / 'h.sqlite'}")
    try:
        async with insecure_channel(server.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            reply = await health.Check(health_pb2.HealthCheckRequest(service="emergence.v1.Ledger"))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await server.close()


async def test_a_fractional_quantity_cannot_be_posted(tmp_path: Path) -> None:
    """quantity is int64 on the wire: a client library refuses 1.5, and 1.5 sent anyway as a
    double is not a quantity at all to the ledger, so the entry is refused as quantity 0."""
    with pytest.raises(TypeError):
        ledger_pb2.LedgerEntry(quantity=1.5)  # type: ignore[arg-type]
    quantity_field = ledger_pb2.LedgerEntry.DESCRIPTOR.fields_by_name["quantity"].number
    fractional = entry(0, ledger_pb2.ENTRY_TYPE_GATHER, NODE, AGENT, 1)
    fractional.ClearField("quantity")
    raw_entry = (
        fractional.SerializeToString()
        + bytes([quantity_field << 3 | 1])  # wire type 1: 64-bit, as a double would travel
        + struct.pack("<d", 1.5)
    )
    entries_field = pb.CommitTickRequest.DESCRIPTOR.fields_by_name["entries"].number
    raw_request = (
        pb.CommitTickRequest(
            run_id=RUN, tick=0, entries=day(0), engine_digest=DIGEST
        ).SerializeToString()
        + bytes([entries_field << 3 | 2, len(raw_entry)])
        + raw_entry
    )
    server = await create_ledger_server("127.0.0.1:0", f"sqlite:///{tmp_path / 'f.sqlite'}")
    try:
        async with insecure_channel(server.address) as channel:
            commit_raw = channel.unary_unary(
                "/emergence.v1.Ledger/CommitTick",
                response_deserializer=pb.CommitTickResponse.FromString,
            )
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await commit_raw(raw_request)
    finally:
        await server.close()
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "entries[3].quantity: must be a positive whole number, got 0" in (
        caught.value.details() or ""
    )
