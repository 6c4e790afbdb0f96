"""The Observer service: `emergence-observer` and `create_observer_server` for in-process use.

It opens the event store (SQLite file or PostgreSQL) and the bus read-only in spirit: nothing
here writes. Every run in the store is served, finished or live, to any number of clients.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from emergence.mesh.logs import configure_logging
from emergence.mesh.metrics import add_metrics_port_argument, serve_service_metrics
from emergence.mesh.redact import redact_url
from emergence.mesh.security import configure_tls
from emergence.mesh.server import (
    RunningServer,
    ServiceBinding,
    run_service,
    serve_until_signal,
    start_server,
)
from emergence.mesh.settings import load_settings
from emergence.v1 import observer_service_pb2, observer_service_pb2_grpc
from engine.adapters.bus import EventBus, open_bus
from engine.adapters.event_store import EventStore, open_event_store
from observer_service.adapters.servicer import ObserverServicer

log = logging.getLogger("emergence.observer")

SERVICE_NAME = observer_service_pb2.DESCRIPTOR.services_by_name["Observer"].full_name


def observer_binding(servicer: ObserverServicer) -> ServiceBinding:
    """How any process (this service, an engine, the embedded run) hosts the Observer."""
    return ServiceBinding(
        SERVICE_NAME,
        lambda server: observer_service_pb2_grpc.add_ObserverServicer_to_server(servicer, server),
    )


@dataclass
class ObserverServer:
    running: RunningServer
    store: EventStore
    bus: EventBus

    @property
    def address(self) -> str:
        return self.running.address

    async def close(self, grace_seconds: float = 2.0) -> None:
        await self.running.stop(grace_seconds)
        await self.bus.close()
        await self.store.close()


async def create_observer_server(
    address: str, store_url: str, nats_url: str = ""
) -> ObserverServer:
    """Open the store and the bus and serve emergence.v1.Observer (health, reflection) on `address`."""
    store = open_event_store(store_url)
    bus = open_bus(nats_url)
    await store.open()
    try:
        await bus.open()
        running = await start_server(address, [observer_binding(ObserverServicer(store, bus))])
    except BaseException:
        await bus.close()
        await store.close()
        raise
    return ObserverServer(running, store, bus)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="emergence-observer",
        description="Serve the read-only Observer API over every run in an event store.",
    )
    parser.add_argument("--address", default=None, help="host:port (default: services.observer)")
    parser.add_argument(
        "--store",
        default=None,
        help="sqlite:///FILE or postgresql://... (default: DATABASE_URL, else the engine's file)",
    )
    parser.add_argument(
        "--nats", default=None, help="NATS URL for live streams (default: NATS_URL)"
    )
    parser.add_argument("--config", default=None, help="emergence.yaml (storage, metrics_port)")
    add_metrics_port_argument(parser)
    return parser.parse_args(argv)


async def _serve(arguments: argparse.Namespace) -> int:
    settings = load_settings(arguments.config)
    configure_tls(settings.security)  # TLS like every service of the mesh
    address = arguments.address or settings.services.observer
    store_url = (
        arguments.store
        or settings.storage.database_url
        or f"sqlite:///{Path(settings.run.out) / 'engine.sqlite'}"
    )
    nats_url = settings.storage.nats_url if arguments.nats is None else arguments.nats
    server = await create_observer_server(address, store_url, nats_url)
    metrics_port = (
        settings.metrics_port if arguments.metrics_port is None else arguments.metrics_port
    )
    metrics_server = serve_service_metrics(address, metrics_port)
    print(
        f"observer serving on {server.address}, store {redact_url(server.store.location)}",
        flush=True,
    )
    await serve_until_signal(server.running, grace_seconds=2.0)
    await server.bus.close()
    await server.store.close()
    if metrics_server is not None:
        metrics_server.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    arguments = _arguments(argv)
    return run_service("emergence-observer", _serve(arguments))


if __name__ == "__main__":
    sys.exit(main())
