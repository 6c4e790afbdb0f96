"""grpc.aio server bootstrap shared by every service: health, reflection, interceptors, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from emergence.mesh.errors import ConfigurationError, EmergenceError, Unavailable
from emergence.mesh.interceptors import ErrorMappingInterceptor
from emergence.mesh.redact import redact_text
from emergence.mesh.security import server_credentials

log = logging.getLogger("emergence.server")

MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ServiceBinding:
    """One service to host: its full name (for health and reflection) and how to add it."""

    name: str
    register: Callable[[grpc.aio.Server], None]
    # Methods ("/package.Service/Method") whose servicer checks every field of every request
    # itself, NUL bytes included: the shared NUL scan would only walk them a second time.
    checks_every_field: frozenset[str] = frozenset()


@dataclass
class RunningServer:
    server: grpc.aio.Server
    port: int
    address: str
    health: health.aio.HealthServicer
    service_names: list[str] = field(default_factory=list)

    async def set_not_serving(self) -> None:
        for name in [*self.service_names, ""]:
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Say NOT_SERVING first so balancers drain, then let in-flight calls finish."""
        await self.set_not_serving()
        await self.server.stop(grace_seconds)


async def start_server(
    address: str,
    bindings: Sequence[ServiceBinding],
    *,
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
) -> RunningServer:
    """Start a server on `address` (port 0 picks a free one) with health and reflection."""
    options = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.keepalive_time_ms", 20_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
        # grpc sets SO_REUSEPORT by default: a second server on a busy port would bind too and
        # silently take half the connections (two engines splitting the runners). One port, one
        # server: the second one fails to start instead.
        ("grpc.so_reuseport", 0),
    ]
    self_checked = frozenset().union(*(binding.checks_every_field for binding in bindings))
    server = grpc.aio.server(
        interceptors=[*interceptors, ErrorMappingInterceptor(self_checked)], options=options
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for binding in bindings:
        binding.register(server)
    names = [binding.name for binding in bindings]
    reflection.enable_server_reflection(
        [*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    credentials = server_credentials()
    try:
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
    except RuntimeError as error:
        raise ConfigurationError(
            "address", f"cannot listen on {address}: {error}", hint="pick a free host:port"
        ) from error
    if port == 0:
        raise ConfigurationError(
            "address", f"cannot listen on {address}", hint="pick a free host:port"
        )
    await server.start()
    for name in [*names, ""]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    host = address.rsplit(":", 1)[0]
    log.info("serving %s on %s:%d", ", ".join(names), host, port)
    return RunningServer(server, port, f"{host}:{port}", health_servicer, names)


def port_is_free(address: str) -> bool:
    """Can a server listen on `address`? Probed the way grpc binds (SO_REUSEADDR), so a port
    whose earlier connections still linger in TIME_WAIT counts as free, and a listening one does
    not. A check before work that must not happen twice; the bind itself stays the guard."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port)))
        except (OSError, ValueError, OverflowError):
            return False
    return True


# A closed terminal (SIGHUP) stops a service as cleanly as Ctrl-C (SIGINT) or a supervisor (SIGTERM).
SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def on_shutdown_signal(callback: Callable[[str], object]) -> None:
    """Call `callback(signal name)` on the running loop when any of SHUTDOWN_SIGNALS arrives."""
    loop = asyncio.get_running_loop()
    for signal_number in SHUTDOWN_SIGNALS:
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal_number, callback, signal_number.name)


def _settle(future: asyncio.Future[str], name: str) -> None:
    if not future.done():
        future.set_result(name)


async def wait_for_signal() -> str:
    """Block until SIGTERM, SIGINT or SIGHUP; return the signal's name."""
    received: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    on_shutdown_signal(lambda name: _settle(received, name))
    return await received


async def serve_until_signal(
    running: RunningServer,
    *,
    on_shutdown: Callable[[], object] | None = None,
    grace_seconds: float = 5.0,
) -> None:
    """Serve until SIGTERM/SIGINT/SIGHUP, then run `on_shutdown` (may be async) and stop gracefully."""
    name = await wait_for_signal()
    log.info("received %s: shutting down", name)
    if on_shutdown is not None:
        outcome = on_shutdown()
        if asyncio.iscoroutine(outcome):
            await outcome
    await running.stop(grace_seconds)


def run_service(program: str, serve: Coroutine[Any, Any, int]) -> int:
    """A service's main: errors of the tree end as one line naming the program, and an exit code."""
    try:
        return asyncio.run(serve)
    except ConfigurationError as error:
        print(f"{program}: configuration error: {redact_text(str(error))}", file=sys.stderr)
        return 2
    except Unavailable as error:
        # A service or database that cannot be reached is a wrong address or a stopped service:
        # the same exit code as any other setting to fix.
        print(f"{program}: {redact_text(str(error))}", file=sys.stderr)
        return 2
    except EmergenceError as error:
        print(f"{program}: {redact_text(str(error))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
