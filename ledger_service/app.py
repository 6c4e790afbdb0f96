"""The ledger service: `emergence-ledger` command and `create_ledger_server` for in-process use."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass

from emergence.mesh.logs import configure_logging
from emergence.mesh.metrics import add_metrics_port_argument, serve_service_metrics
from emergence.mesh.security import configure_tls
from emergence.mesh.server import (
    RunningServer,
    ServiceBinding,
    run_service,
    serve_until_signal,
    start_server,
)
from emergence.mesh.settings import load_settings
from emergence.v1 import ledger_service_pb2, ledger_service_pb2_grpc
from ledger_service.adapters.keeper import BookKeeper
from ledger_service.adapters.servicer import LedgerServicer
from ledger_service.adapters.store import LedgerStore, open_store

log = logging.getLogger("emergence.ledger")

SERVICE_NAME = ledger_service_pb2.DESCRIPTOR.services_by_name["Ledger"].full_name
DEFAULT_ADDRESS = "127.0.0.1:50052"
DEFAULT_STORE = "sqlite:///runs/ledger.sqlite"
# In-flight commits get this long to finish on shutdown; a tick is never left half-written
# because each one is a single store transaction.
GRACE_SECONDS = 10.0


@dataclass
class LedgerServer:
    running: RunningServer
    store: LedgerStore
    keeper: BookKeeper

    @property
    def address(self) -> str:
        return self.running.address

    @property
    def port(self) -> int:
        return self.running.port

    async def close(self, grace_seconds: float = GRACE_SECONDS) -> None:
        """Stop taking calls, let running ones finish, then close the store."""
        await self.running.stop(grace_seconds)
        await self.store.close()


async def create_ledger_server(
    address: str, store_url: str, *, service_token: str = ""
) -> LedgerServer:
    """Open the store and serve emergence.v1.Ledger (with health and reflection) on `address`.
    With a service token, only the run's own engine may CommitTick or Rewind."""
    store = open_store(store_url)
    await store.open()
    keeper = BookKeeper(store)
    servicer = LedgerServicer(keeper, service_token)
    binding = ServiceBinding(
        SERVICE_NAME,
        lambda server: ledger_service_pb2_grpc.add_LedgerServicer_to_server(servicer, server),
    )
    try:
        running = await start_server(address, [binding])
    except BaseException:
        await store.close()
        raise
    return LedgerServer(running, store, keeper)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="emergence-ledger",
        description="Run the ledger service: a double-entry book proving conservation every tick.",
    )
    parser.add_argument(
        "--address", default=DEFAULT_ADDRESS, help=f"host:port (default {DEFAULT_ADDRESS})"
    )
    parser.add_argument(
        "--store",
        default=None,
        help=f"sqlite:///FILE or postgresql://... (default DATABASE_URL, else {DEFAULT_STORE})",
    )
    parser.add_argument("--config", default=None, help="emergence.yaml (security, metrics_port)")
    add_metrics_port_argument(parser)
    return parser.parse_args(argv)


async def _serve(arguments: argparse.Namespace) -> int:
    settings = load_settings(arguments.config)
    configure_tls(settings.security)
    store_url = arguments.store or settings.storage.database_url or DEFAULT_STORE
    server = await create_ledger_server(
        arguments.address, store_url, service_token=settings.security.service_token
    )
    if not settings.security.service_token:
        log.warning("no SERVICE_TOKEN: any process that reaches the ledger may commit and rewind")
    metrics_port = (
        settings.metrics_port if arguments.metrics_port is None else arguments.metrics_port
    )
    metrics_server = serve_service_metrics(arguments.address, metrics_port)
    print(f"ledger serving on {server.address}, store {server.store.location}", flush=True)
    await serve_until_signal(server.running, grace_seconds=GRACE_SECONDS)
    await server.store.close()
    if metrics_server is not None:
        metrics_server.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    arguments = _arguments(argv)
    return run_service("emergence-ledger", _serve(arguments))


if __name__ == "__main__":
    sys.exit(main())
