"""`emergence up`: the whole mesh as separate processes, a run seen through the gateway, Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.contract.test_processes import ROOT, free_port

TICKS = 30


def _wait_for_completed_run(gateway: str, process: subprocess.Popen[str]) -> dict[str, object]:
    deadline = time.monotonic() + 90
    last: dict[str, object] = {}
    while time.monotonic() < deadline:
        assert process.poll() is None, "emergence up stopped before the run ended"
        try:
            runs = httpx.get(f"{gateway}/api/v1/runs", timeout=2).json().get("runs", [])
        except (httpx.HTTPError, ValueError):
            runs = []
        if runs:
            last = runs[-1]
            if last.get("status") == "RUN_STATUS_COMPLETED":
                return last
        time.sleep(0.3)
    raise AssertionError(f"the run did not complete through the gateway: {last}")


def test_up_runs_the_mesh_serves_the_run_through_the_gateway_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    gateway_port = free_port()
    config = tmp_path / "emergence.yaml"
    config.write_text(
        f"run: {{ticks: {TICKS}, agents: 4, seed: 9, out: {tmp_path / 'runs'}}}\n"
        f"services: {{engine: 127.0.0.1:{free_port()}, ledger: 127.0.0.1:{free_port()}, "
        f"observer: 127.0.0.1:{free_port()}}}\n"
        f"observer_port: {gateway_port}\n"
    )
    # No external stores: SQLite files and a NATS server of its own, as on a fresh machine.
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DRAGONFLY_URL", "NATS_URL", "OBSERVER_PORT"}
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "emergence.cli", "up", "--config", str(config), "--runners", "2"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        run = _wait_for_completed_run(f"http://127.0.0.1:{gateway_port}", process)
        assert run["currentTick"] == str(TICKS) and run["config"]["agents"] == 4  # type: ignore[index]
        # The Observer (its own process) serves the finished run's world through the gateway.
        world = httpx.get(
            f"http://127.0.0.1:{gateway_port}/api/v1/runs/{run['id']}/world", timeout=10
        )
        assert world.status_code == 200, world.text
        assert world.json()["world"]["clock"]["tick"] == str(TICKS)
        # The finished run stays served after the runners leave.
        time.sleep(1.5)
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    started = dict(re.findall(r"started (\S+)\s+pid (\d+)", output))
    expected = {"nats", "ledger", "engine", "observer", "runner-1", "runner-2", "gateway"}
    assert set(started) == expected, output
    assert "runner-1 finished with the run" in output and "stopping the mesh" in output
    for name, pid in started.items():
        assert not _alive(int(pid)), f"{name} (pid {pid}) outlived the mesh"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes: its parent has not reaped it yet
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()
