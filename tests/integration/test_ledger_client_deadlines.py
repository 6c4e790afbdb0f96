"""The engine's ledger client: a whole-run audit gets its own deadline, not a tick's."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from emergence.mesh.errors import EmergenceError
from emergence.v1 import ledger_service_pb2, ledger_service_pb2_grpc
from engine.adapters.ledger_client import LedgerClient

AUDIT_SECONDS = 0.6


class SlowAuditLedger(ledger_service_pb2_grpc.LedgerServicer):
    """Answers Verify after a fixed time, as a ledger replaying a long run does."""

    def __init__(self) -> None:
        self.calls = 0

    async def Verify(
        self, request: ledger_service_pb2.VerifyRequest, context: object
    ) -> ledger_service_pb2.VerifyResponse:
        self.calls += 1
        await asyncio.sleep(AUDIT_SECONDS)
        return ledger_service_pb2.VerifyResponse(ok=True, last_tick=5000)


async def test_verify_waits_for_its_own_deadline_not_the_tick_deadline() -> None:
    ledger = SlowAuditLedger()
    server = grpc.aio.server()
    ledger_service_pb2_grpc.add_LedgerServicer_to_server(ledger, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    client = LedgerClient(f"127.0.0.1:{port}", attempts=2, call_timeout_seconds=0.2)
    try:
        # With the tick deadline the audit cannot finish: both attempts run out of time.
        with pytest.raises(EmergenceError, match="Verify"):
            await client.verify("run-1")
        assert ledger.calls == 2
        reply = await client.verify("run-1", timeout_seconds=AUDIT_SECONDS * 10)
        assert reply.ok and reply.last_tick == 5000
        assert ledger.calls == 3
    finally:
        await client.close()
        await server.stop(None)
