"""The `emergence-experiments` process (the control plane), also hosted in-process by the CLI."""

from __future__ import annotations

import argparse
import contextlib
import logging
import secrets
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from emergence.experiments.config import STATE_CHANGING_METHODS
from emergence.experiments.kubernetes import JobSettings
from emergence.experiments.launcher import LocalLauncher
from emergence.experiments.operator_relay import OperatorRelay
from emergence.experiments.servicer import ControlPlane, ExperimentsControlServicer
from emergence.mesh.interceptors import BearerTokenInterceptor
from emergence.mesh.logs import configure_logging
from emergence.mesh.metrics import add_metrics_port_argument, serve_service_metrics
from emergence.mesh.security import configure_tls, with_generated_tokens
from emergence.mesh.server import RunningServer, ServiceBinding, run_service, serve_until_signal
from emergence.mesh.server import start_server as start_grpc_server
from emergence.mesh.settings import Settings, load_settings
from emergence.v1 import experiments_service_pb2_grpc, operator_service_pb2_grpc
from engine.adapters.event_store import open_event_store, sqlite_path

log = logging.getLogger("emergence.experiments")


@dataclass
class HostedControlPlane:
    server: RunningServer
    plane: ControlPlane
    operator_token: str

    @property
    def address(self) -> str:
        return self.server.address


def ledger_store_for(store_url: str) -> str:
    """The hosted ledger's store: the same database, or a `ledger.sqlite` beside the history."""
    if store_url.startswith("sqlite:///"):
        return f"sqlite:///{Path(sqlite_path(store_url)).with_name('ledger.sqlite')}"
    return store_url


@contextlib.asynccontextmanager
async def control_plane(
    settings: Settings,
    *,
    store_url: str,
    address: str = "127.0.0.1:0",
    ledger_address: str = "",
    log_folder: Path | None = None,
    reports_folder: Path | None = None,
    jobs: JobSettings | None = None,
) -> AsyncIterator[HostedControlPlane]:
    """Serve Experiments at `address` until the block ends; with no `ledger_address` a ledger
    service is hosted here too. Without an operator token one is made up for this process (the
    engines it launches get it; callers in the same process read `operator_token`)."""
    from ledger_service.app import create_ledger_server

    token = settings.operator_api_token or secrets.token_urlsafe(24)
    # A hosted ledger and the engines share a service token made up here when none is set; an
    # outside ledger knows only the configured one. Runners get a token either way.
    settings = with_generated_tokens(settings) if not ledger_address else settings
    security = settings.security
    runner_token = security.runner_token or secrets.token_urlsafe(24)
    store = open_event_store(store_url)
    await store.open()
    ledger = None
    if not ledger_address:
        ledger = await create_ledger_server(
            "127.0.0.1:0", ledger_store_for(store_url), service_token=security.service_token
        )
        ledger_address = ledger.address
    folder = log_folder or Path(settings.run.out) / "engines"
    # The engines share this process's hot state and bus (empty: in-process), whatever else
    # their environment says, and accept the token this process calls them with.
    environment = {
        "OPERATOR_API_TOKEN": token,
        "RUNNER_TOKEN": runner_token,
        "SERVICE_TOKEN": security.service_token,
        "REDIS_URL": settings.storage.redis_url,
        "DRAGONFLY_URL": "",
        "NATS_URL": settings.storage.nats_url,
        # Several engines on one host cannot share a fixed /metrics port.
        "METRICS_PORT": "0",
    }
    reports = reports_folder or Path(settings.run.out) / "reports"
    launcher = LocalLauncher(
        store_url, ledger_address, folder, environment=environment, reports_folder=reports
    )
    plane = ControlPlane(store, launcher, token, reports, jobs=jobs)
    launcher.on_unexpected_exit = plane.record_engine_death
    server = None
    try:
        server = await start_grpc_server(
            address,
            [
                ServiceBinding(
                    "emergence.v1.Experiments",
                    lambda s: experiments_service_pb2_grpc.add_ExperimentsServicer_to_server(
                        ExperimentsControlServicer(plane),
                        s,
                    ),
                ),
                # Operator calls on a run, relayed to its engine (every one needs the token).
                ServiceBinding(
                    "emergence.v1.Operator",
                    lambda s: operator_service_pb2_grpc.add_OperatorServicer_to_server(
                        OperatorRelay(plane), s
                    ),
                ),
            ],
            interceptors=[
                BearerTokenInterceptor(
                    token, ["emergence.v1.Operator"], protected_methods=STATE_CHANGING_METHODS
                )
            ],
        )
        yield HostedControlPlane(server, plane, token)
    finally:
        if server is not None:
            await server.stop(1.0)
        await plane.close()
        if ledger is not None:
            await ledger.close()
        await store.close()


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="emergence-experiments",
        description="The experiments control plane: create, start, step, fork and compare runs;"
        " one engine process per run.",
    )
    parser.add_argument("--address", default=None, help="host:port (default services.experiments)")
    parser.add_argument("--config", default=None, help="emergence.yaml")
    parser.add_argument(
        "--store", default=None, help="event store URL (default DATABASE_URL, else runs/ SQLite)"
    )
    parser.add_argument(
        "--ledger", default=None, help="ledger address (default: host a ledger in this process)"
    )
    parser.add_argument(
        "--launcher",
        choices=("local", "kubernetes"),
        default="local",
        help="local: one engine process per run here; kubernetes: one Job per run, applied with"
        " kubectl to the cluster of its kubeconfig (deploy/k8s/jobs)",
    )
    parser.add_argument("--job-image", default=JobSettings.image, help="the Jobs' image")
    parser.add_argument(
        "--job-namespace", default=JobSettings.namespace, help="the Jobs' namespace"
    )
    add_metrics_port_argument(parser)
    return parser.parse_args(argv)


async def _serve(arguments: argparse.Namespace) -> int:
    settings = load_settings(arguments.config)
    configure_tls(settings.security)  # TLS like every service of the mesh
    if not settings.operator_api_token:
        log.warning("no OPERATOR_API_TOKEN: creating, starting and stepping runs is refused")
    store_url = (
        arguments.store
        or settings.storage.database_url
        or f"sqlite:///{Path(settings.run.out) / 'experiments' / 'history.sqlite'}"
    )
    address = arguments.address or settings.services.experiments
    metrics_port = (
        settings.metrics_port if arguments.metrics_port is None else arguments.metrics_port
    )
    metrics_server = serve_service_metrics(address, metrics_port)
    try:
        jobs = None
        if arguments.launcher == "kubernetes":
            jobs = JobSettings(image=arguments.job_image, namespace=arguments.job_namespace)
        async with control_plane(
            settings,
            store_url=store_url,
            address=address,
            ledger_address=arguments.ledger or "",
            jobs=jobs,
        ) as hosted:
            print(f"experiments serving on {hosted.address}", flush=True)
            await serve_until_signal(hosted.server)
    finally:
        if metrics_server is not None:
            metrics_server.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    return run_service("emergence-experiments", _serve(_arguments(argv)))


if __name__ == "__main__":
    sys.exit(main())
