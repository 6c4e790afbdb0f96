"""A stopped database is an outage, not a bug: the ledger answers UNAVAILABLE (so the engine holds
and retries) and the event store raises Unavailable; both work again once it is back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import grpc
import pytest

from emergence.mesh.channels import insecure_channel
from emergence.mesh.errors import Unavailable
from emergence.v1 import ledger_service_pb2 as pb
from emergence.v1 import ledger_service_pb2_grpc, run_pb2
from engine.adapters.event_store import open_event_store
from ledger_service.app import create_ledger_server
from tests.integration.test_ledger_servicer import DIGEST, day
from tests.private_services import PrivatePostgres, missing_binaries

pytestmark = pytest.mark.skipif(
    bool(missing_binaries()), reason=f"needs {', '.join(missing_binaries())}"
)


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    try:
        yield server
    finally:
        server.close()


async def _after_outage(attempt: object, tries: int = 50) -> object:
    """The first calls after a restart may still meet dropped pool connections: retry those."""
    for _ in range(tries):
        try:
            return await attempt()  # type: ignore[operator]
        except (Unavailable, grpc.aio.AioRpcError) as error:
            if isinstance(error, grpc.aio.AioRpcError):
                assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()
            await asyncio.sleep(0.1)
    raise AssertionError("still unavailable after the database came back")


async def test_the_ledger_answers_a_database_outage_with_unavailable(
    postgres: PrivatePostgres,
) -> None:
    server = await create_ledger_server("127.0.0.1:0", postgres.dsn)
    try:
        async with insecure_channel(server.address) as channel:
            stub = ledger_service_pb2_grpc.LedgerStub(channel)

            def commit(tick: int) -> object:
                return stub.CommitTick(
                    pb.CommitTickRequest(
                        run_id="r", tick=tick, entries=day(tick), engine_digest=DIGEST
                    ),
                    timeout=10,
                )

            await commit(0)
            postgres.stop()
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await commit(1)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE, caught.value.details()
            assert "PostgreSQL unavailable" in str(caught.value.details())
            postgres.start()
            reply = await _after_outage(lambda: commit(1))
            assert isinstance(reply, pb.CommitTickResponse) and reply.applied
    finally:
        await server.close()


async def test_the_event_store_reports_a_database_outage_as_unavailable(
    postgres: PrivatePostgres,
) -> None:
    store = open_event_store(postgres.dsn)
    await store.open()
    try:
        run = run_pb2.Run(id="run-outage", status=run_pb2.RUN_STATUS_RUNNING)
        await store.save_run(run)
        postgres.stop()
        with pytest.raises(Unavailable):
            await store.get_run(run.id)
        postgres.start()
        found = await _after_outage(lambda: store.get_run(run.id))
        assert isinstance(found, run_pb2.Run) and found.id == run.id
    finally:
        await store.close()
