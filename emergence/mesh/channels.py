"""Client channels with keepalive and a retry policy, and a readiness probe over grpc.health.v1."""

from __future__ import annotations

import asyncio
import json

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from emergence.mesh.errors import Unavailable
from emergence.mesh.security import channel_credentials

MAX_MESSAGE_BYTES = 64 * 1024 * 1024

_RETRY_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [
                    {"service": "emergence.v1.Ledger", "method": "GetBalances"},
                    {"service": "emergence.v1.Ledger", "method": "History"},
                    {"service": "emergence.v1.Ledger", "method": "Verify"},
                    {"service": "emergence.v1.Observer"},
                    {"service": "emergence.v1.Runner"},
                ],
                "retryPolicy": {
                    "maxAttempts": 4,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)


_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.enable_retries", 1),
    ("grpc.service_config", _RETRY_SERVICE_CONFIG),
]


def insecure_channel(address: str) -> grpc.aio.Channel:
    """A plaintext grpc.aio channel to `address` with keepalive and retries for idempotent reads."""
    return grpc.aio.insecure_channel(address, options=_OPTIONS)


def mesh_channel(address: str) -> grpc.aio.Channel:
    """A channel to another service of the mesh: TLS when this process has a CA configured
    (`security.tls_ca_file`, presenting its own certificate for mutual TLS), plaintext otherwise."""
    credentials = channel_credentials()
    if credentials is None:
        return insecure_channel(address)
    return grpc.aio.secure_channel(address, credentials, options=_OPTIONS)


async def wait_until_serving(
    address: str, service: str = "", timeout_seconds: float = 10.0
) -> None:
    """Poll grpc.health.v1 until `service` is SERVING; raise Unavailable naming the address if not."""
    deadline = asyncio.get_running_loop().time() + timeout_seconds
    last_problem = "no answer"
    async with mesh_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while asyncio.get_running_loop().time() < deadline:
            try:
                reply = await stub.Check(  # type: ignore[attr-defined]
                    health_pb2.HealthCheckRequest(service=service), timeout=1.0
                )
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                last_problem = (
                    f"status {health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}"
                )
            except grpc.aio.AioRpcError as error:
                last_problem = error.details() or error.code().name
            await asyncio.sleep(0.1)
    raise Unavailable(
        f"service at {address} is not serving after {timeout_seconds:.0f} s ({last_problem})",
        hint="check that the address is right and the service has started",
    )
