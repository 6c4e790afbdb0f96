"""deploy/compose.yaml's own commands, settings file and environment, run as processes on loopback.

No Docker engine here, so the containers become processes: the same command lines, the same
`deploy/emergence.yaml` and the same environment as compose renders them, with only what a
container network gives for free replaced (service names and fixed ports become 127.0.0.1 and
free ports; the stores are the test PostgreSQL, Redis and NATS). Every service must pass its own
compose healthcheck, and a short run must complete through the gateway and verify.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from emergence.health import main as health_main
from tests.contract.test_deploy import (
    DEPLOY,
    ROOT,
    _compose,
    _compose_argv,
    variables_read_by_the_project,
)
from tests.contract.test_processes import free_port
from tests.integration.test_tls_mesh import make_certificates
from tests.services import ServiceProcesses

TICKS = 5
CONTAINER_CONFIG = "/etc/emergence/emergence.yaml"
CONTAINER_DASHBOARD = "/app/observer/dist"
# Started in compose's dependency order; the runner service has two replicas.
ORDER = ("ledger", "engine", "runner", "observer", "experiments", "gateway")
SERVICE_NAMES = "ledger|engine|observer|experiments"


@dataclass
class Service:
    name: str
    argv: list[str]
    environment: dict[str, str]
    health: list[str]


def _modules() -> dict[str, str]:
    """Console script → module, from pyproject.toml (each module runs its main as __main__)."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    return {name: target.split(":", 1)[0] for name, target in scripts.items()}


def _local(words: list[str], ports: dict[int, int], replacements: dict[str, str]) -> list[str]:
    """A container's words for this machine: any address of ours gets 127.0.0.1 and a free port."""
    local = []
    for word in words:
        word = replacements.get(word, word)
        match = re.fullmatch(rf"(?:0\.0\.0\.0|127\.0\.0\.1|{SERVICE_NAMES}):(\d+)", word)
        if match:
            word = f"127.0.0.1:{ports[int(match.group(1))]}"
        local.append(word)
    return local


def _settings_file(folder: Path, ports: dict[int, int]) -> Path:
    settings: dict[str, Any] = yaml.safe_load((DEPLOY / "emergence.yaml").read_text())
    settings["run"].update(ticks=TICKS, agents=6, tick_interval_ms=0, out=str(folder / "runs"))
    for key, address in settings["services"].items():
        port = int(address.rsplit(":", 1)[1])
        settings["services"][key] = f"127.0.0.1:{ports[port]}"
    path = folder / "emergence.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def _services(
    folder: Path, stores: dict[str, str], ports: dict[int, int], env_file: Path
) -> tuple[list[Service], int]:
    completed = _compose(env_file)
    assert completed.returncode == 0, completed.stderr
    compose = yaml.safe_load(completed.stdout)["services"]
    dashboard = folder / "dashboard"
    dashboard.mkdir()
    (dashboard / "index.html").write_text("<!doctype html><title>Emergence</title>")
    replacements = {
        CONTAINER_CONFIG: str(_settings_file(folder, ports)),
        CONTAINER_DASHBOARD: str(dashboard),
        "0.0.0.0": "127.0.0.1",
    }
    gateway_port = free_port()
    services = []
    for name in ORDER:
        spec = compose[name]
        environment = {key: str(value) for key, value in spec.get("environment", {}).items()}
        for key in ("DATABASE_URL", "REDIS_URL", "NATS_URL"):
            if key in environment:
                environment[key] = stores[key]
        argv = _local(_compose_argv(spec["command"]), ports, replacements)
        health = _local(spec["healthcheck"]["test"][1:], ports, replacements)
        if name == "gateway":
            argv += ["--port", str(gateway_port), "--admin-port", str(free_port())]
            health = []  # Envoy's admin port is probed below through the gateway itself
        services.append(Service(name, argv, environment, health))
    return services, gateway_port


def _bare_environment() -> dict[str, str]:
    """This machine's environment without any variable the services read."""
    read = variables_read_by_the_project()
    bare = {key: value for key, value in os.environ.items() if key not in read}
    return {**bare, "PYTHONPATH": str(ROOT)}


def _start(processes: ServiceProcesses, service: Service, name: str, extra: list[str]) -> None:
    program, *arguments = service.argv
    module = _modules()[program]
    if program == "emergence-runner":
        arguments = [word for word in arguments if not word.startswith("runner-$(")] + extra
    # Exactly the container's environment: nothing from this shell, nothing from another service.
    processes.environment = {**_bare_environment(), **service.environment}
    if "METRICS_PORT" in service.environment:  # one port per process on this one machine
        processes.environment["METRICS_PORT"] = str(free_port())
    processes.start(name, module, *arguments)


def _wait_healthy(service: Service, folder: Path) -> None:
    """The healthcheck's own command line (`emergence health ADDRESS`), run in-process: a
    process per poll costs seconds on a loaded machine and checks nothing more."""
    program, command, *arguments = service.health
    assert (program, command) == ("emergence", "health"), service.health
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            if health_main(arguments, service.environment) == 0:  # the container's TLS_*
                return
        time.sleep(0.2)
    logs = {path.name: path.read_text()[-2000:] for path in folder.glob("*.log")}
    raise AssertionError(f"{service.name} never passed its healthcheck {service.health}: {logs}")


def _completed_run(gateway: str, folder: Path, processes: ServiceProcesses) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        failed = [process.args for process in processes.processes if process.poll()]
        if failed:  # a service that exits non-zero will not come back here: no point waiting
            break
        try:
            runs = httpx.get(f"{gateway}/api/v1/runs", timeout=2).json().get("runs", [])
        except (httpx.HTTPError, ValueError):
            runs = []
        if runs:
            last = runs[-1]
            if last.get("status") == "RUN_STATUS_COMPLETED":
                return last
        time.sleep(0.3)
    logs = {path.name: path.read_text()[-2000:] for path in folder.glob("*.log")}
    raise AssertionError(f"the run did not complete through the gateway: {last} {logs}")


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.nats
def _env_file(folder: Path, tls: bool) -> Path:
    """deploy/.env.example, with the TLS files of a mutual-TLS mesh when `tls`."""
    text = (DEPLOY / ".env.example").read_text()
    if tls:
        security = make_certificates(folder)
        for variable, path in (
            ("TLS_CERT_FILE", security.tls_cert_file),
            ("TLS_KEY_FILE", security.tls_key_file),
            ("TLS_CA_FILE", security.tls_ca_file),
        ):
            text = text.replace(f"{variable}=\n", f"{variable}={path}\n")
    env_file = folder / "deploy.env"
    env_file.write_text(text)
    return env_file


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "mutual-tls"])
def test_compose_commands_run_a_healthy_mesh_and_a_verified_run(
    tmp_path: Path, postgres_dsn: str, redis_url: str, nats_url: str, tls: bool
) -> None:
    ports = {port: free_port() for port in (50051, 50052, 50053, 50054, 50055)}
    stores = {"DATABASE_URL": postgres_dsn, "REDIS_URL": redis_url, "NATS_URL": nats_url}
    env_file = _env_file(tmp_path, tls)
    services, gateway_port = _services(tmp_path, stores, ports, env_file)
    if tls:  # every service of ours, the gateway included, is given the mesh's files
        assert all(service.environment.get("TLS_CA_FILE") for service in services)
    with ServiceProcesses(tmp_path) as processes:
        for service in services:
            if service.name == "runner":
                for replica in (1, 2):
                    status = ["--status-address", f"127.0.0.1:{free_port()}"]
                    _start(
                        processes,
                        service,
                        f"runner-{replica}",
                        ["--runner-id", f"runner-{replica}", *status],
                    )
                continue
            _start(processes, service, service.name, [])
            if service.health:
                _wait_healthy(service, tmp_path)
        run = _completed_run(f"http://127.0.0.1:{gateway_port}", tmp_path, processes)
        page = httpx.get(f"http://127.0.0.1:{gateway_port}/", timeout=5)
    assert run["currentTick"] == str(TICKS)
    assert page.status_code == 200 and "<title>Emergence</title>" in page.text
    verified = subprocess.run(
        [sys.executable, "-m", "emergence.cli", "verify", run["id"], "--store", postgres_dsn],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
