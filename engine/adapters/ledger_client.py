"""The engine's side of the ledger: CommitTick with retries (it is idempotent), Rewind, Verify."""

from __future__ import annotations

import asyncio
import logging
import random

import grpc

from emergence.mesh.channels import mesh_channel
from emergence.mesh.errors import EmergenceError, Unavailable, from_rpc_error
from emergence.mesh.security import bearer_metadata, run_key
from emergence.v1 import ledger_pb2, ledger_service_pb2, ledger_service_pb2_grpc

log = logging.getLogger("emergence.engine.ledger")

RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


class LedgerClient:
    def __init__(
        self,
        address: str,
        *,
        attempts: int = 3,
        call_timeout_seconds: float = 10.0,
        service_token: str = "",
    ) -> None:
        self.address = address
        # Writes carry the run's key, HMAC(service token, run id); empty token: none sent.
        self._service_token = service_token
        self._attempts = attempts
        self._timeout = call_timeout_seconds
        self._channel = mesh_channel(address)
        self._stub = ledger_service_pb2_grpc.LedgerStub(self._channel)
        self.retries = 0

    async def close(self) -> None:
        await self._channel.close()

    def _run_metadata(self, run_id: str) -> tuple[tuple[str, str], ...]:
        if not self._service_token:
            return ()
        return bearer_metadata(run_key(self._service_token, run_id))

    async def _call(
        self,
        name: str,
        request: object,
        metadata: tuple[tuple[str, str], ...] = (),
        timeout_seconds: float | None = None,
    ) -> object:
        method = getattr(self._stub, name)
        timeout = self._timeout if timeout_seconds is None else timeout_seconds
        delay = 0.05
        for attempt in range(1, self._attempts + 1):
            try:
                return await method(request, timeout=timeout, metadata=metadata)
            except grpc.aio.AioRpcError as error:
                if error.code() not in RETRYABLE or attempt == self._attempts:
                    raise from_rpc_error(
                        error, address=self.address, call=f"Ledger.{name}"
                    ) from error
                self.retries += 1
                log.warning("Ledger.%s failed (%s); retry %d", name, error.code().name, attempt)
                await asyncio.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 2.0)
        raise Unavailable(f"Ledger.{name} at {self.address} did not answer")

    async def commit_tick(
        self,
        run_id: str,
        tick: int,
        entries: list[ledger_pb2.LedgerEntry],
        engine_digest: str,
        *,
        final: bool = False,
    ) -> ledger_service_pb2.CommitTickResponse:
        request = ledger_service_pb2.CommitTickRequest(
            run_id=run_id, tick=tick, entries=entries, engine_digest=engine_digest, final=final
        )
        reply = await self._call("CommitTick", request, self._run_metadata(run_id))
        assert isinstance(reply, ledger_service_pb2.CommitTickResponse)
        return reply

    async def rewind(self, run_id: str, tick: int) -> ledger_service_pb2.RewindResponse:
        reply = await self._call(
            "Rewind",
            ledger_service_pb2.RewindRequest(run_id=run_id, tick=tick),
            self._run_metadata(run_id),
        )
        assert isinstance(reply, ledger_service_pb2.RewindResponse)
        return reply

    async def verify(
        self, run_id: str, timeout_seconds: float | None = None
    ) -> ledger_service_pb2.VerifyResponse:
        """The ledger's full audit of a run: it re-reads every stored entry, so its deadline
        should grow with the run (`timeout_seconds`), unlike a single tick's commit."""
        reply = await self._call(
            "Verify", ledger_service_pb2.VerifyRequest(run_id=run_id), (), timeout_seconds
        )
        assert isinstance(reply, ledger_service_pb2.VerifyResponse)
        return reply


__all__ = ["EmergenceError", "LedgerClient"]
