"""`emergence up` as a supervisor, with real processes: signals end the run cleanly as manual,
a crashed engine is restarted and its run completes, and nothing outlives `up` – not even
when `up` itself is SIGKILLed."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from emergence.up import dashboard_folder
from emergence.v1 import run_pb2
from tests.e2e.up_process import UpProcess, alive, last_tick_events, stored_run
from tests.services import ROOT


def verify(up: UpProcess, run_id: str) -> subprocess.CompletedProcess[str]:
    ledger = f"sqlite:///{up.mesh / 'ledger.sqlite'}"
    command = [sys.executable, "-m", "emergence.cli", "verify", run_id]
    return subprocess.run(
        [*command, "--store", up.store, "--ledger-store", ledger],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_no_orphans(up: UpProcess, grace_seconds: float = 5.0) -> None:
    pids = up.pids()
    assert {name.split("#")[0] for name in pids} >= {"nats", "ledger", "engine", "runner-1"}
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and any(alive(pid) for pid in pids.values()):
        time.sleep(0.05)
    survivors = [name for name, pid in pids.items() if alive(pid)]
    assert not survivors, f"{survivors} outlived emergence up:\n{up.output}"


def operate_with_the_generated_token(up: UpProcess, run_id: str) -> None:
    """A fresh machine has no OPERATOR_API_TOKEN: up makes one, and only it steers the run."""
    token = up.wait_for(r"operator token (\S+) \(also in (\S+);").group(1)
    token_file = Path(up.wait_for(r"operator token \S+ \(also in (\S+);").group(1))
    assert token_file.read_text().strip() == token
    assert token_file.stat().st_mode & 0o077 == 0
    runs = f"http://127.0.0.1:{up.gateway_port}/api/v1/runs/{run_id}"
    refused = httpx.post(f"{runs}:pause", json={}, timeout=10)
    assert refused.status_code == 401, refused.text
    bearer = {"authorization": f"Bearer {token}"}
    for action in ("pause", "resume"):
        answer = httpx.post(f"{runs}:{action}", json={}, headers=bearer, timeout=10)
        assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_ends_the_run_as_manual_and_stops_everything_in_order(
    tmp_path: Path, signal_number: signal.Signals
) -> None:
    full = signal_number == signal.SIGINT  # the others with a smaller mesh, to save time
    up = UpProcess(tmp_path, ticks=100_000, runners=2 if full else 1, gateway=full)
    try:
        up.wait_for(r"^mesh ready")
        run_id = up.run_id()
        up.wait_for_tick(5)
        if full:
            operate_with_the_generated_token(up, run_id)
        code = up.stop(signal_number)
    finally:
        up.close()
    assert code == 0, up.output
    assert f"{signal_number.name}: stopping the mesh" in up.output
    stopped = [line.split()[0] for line in up.output.splitlines() if " stopped in " in line]
    # runners first, then the engine, then the rest (the reverse of their start)
    runners = ["runner-2", "runner-1"] if full else ["runner-1"]
    assert stopped[: len(runners) + 1] == [*runners, "engine"], up.output
    assert stopped[-2:] == ["ledger", "nats"], up.output
    run = asyncio.run(stored_run(up.store, run_id))
    assert run.status == run_pb2.RUN_STATUS_COMPLETED
    assert run.end_reason == run_pb2.END_REASON_MANUAL
    assert asyncio.run(last_tick_events(up.store, run_id))[-2:] == [
        "EVENT_TYPE_SIMULATION_ENDED",
        "EVENT_TYPE_TICK_END",
    ]
    audit = verify(up, run_id)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert_no_orphans(up)


def test_sigkill_of_up_takes_every_child_with_it(tmp_path: Path) -> None:
    up = UpProcess(tmp_path, ticks=100_000)
    try:
        up.wait_for(r"^mesh ready")
        up.wait_for_tick(2)
        code = up.stop(signal.SIGKILL)
        assert code == -signal.SIGKILL
        started = {name.split("#")[0] for name in up.pids()}
        assert started >= {"observer", "experiments", "gateway", "runner-2"}
        assert_no_orphans(up)
    finally:
        up.close()


def test_a_crashed_engine_is_restarted_its_run_completes_and_stays_served(
    tmp_path: Path,
) -> None:
    up = UpProcess(tmp_path, ticks=60)
    try:
        up.wait_for(r"^mesh ready")
        run_id = up.run_id()
        up.wait_for_tick(10)
        engine = next(pid for name, pid in up.pids().items() if name.startswith("engine#"))
        signal_kill(engine)
        up.wait_for(r"engine\s+exited with code -9; restarting it in")
        up.wait_for(r"engine\s+back in")
        up.wait_for(r"runner-2\s+finished with the run")
        # The finished run stays served through the gateway after the runners leave, the
        # world by the Observer (its own process).
        gateway = f"http://127.0.0.1:{up.gateway_port}/api/v1/runs"
        runs = httpx.get(gateway, timeout=10).json()["runs"]
        assert [(r["id"], r["status"], r["currentTick"]) for r in runs] == [
            (run_id, "RUN_STATUS_COMPLETED", "60")
        ]
        world = httpx.get(f"{gateway}/{run_id}/world", timeout=10)
        assert world.status_code == 200, world.text
        assert world.json()["world"]["clock"]["tick"] == "60"
        if dashboard_folder() is not None:  # built by `make install`: served at the root
            assert f"dashboard http://127.0.0.1:{up.gateway_port}/" in up.output
            page = httpx.get(f"http://127.0.0.1:{up.gateway_port}/", timeout=10)
            assert page.status_code == 200 and "<html" in page.text.lower()
        assert up.process.poll() is None, "the mesh must keep serving the finished run"
        code = up.stop(signal.SIGINT)
    finally:
        up.close()
    assert code == 0, up.output
    run = asyncio.run(stored_run(up.store, run_id))
    assert (run.status, run.end_reason, run.current_tick) == (
        run_pb2.RUN_STATUS_COMPLETED,
        run_pb2.END_REASON_MAX_TICKS,
        60,
    )
    assert "resuming run" in (up.mesh / "engine.log").read_text()
    audit = verify(up, run_id)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert_no_orphans(up)


def test_a_busy_address_is_refused_before_anything_starts(tmp_path: Path) -> None:
    import socket

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        config = tmp_path / "emergence.yaml"
        config.write_text(f"run: {{out: {tmp_path}}}\nservices: {{engine: 127.0.0.1:{port}}}\n")
        result = subprocess.run(
            [sys.executable, "-m", "emergence.cli", "up", "--config", str(config)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert f"services.engine: address 127.0.0.1:{port} is already in use" in result.stderr


def signal_kill(pid: int) -> None:
    import os

    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_mesh_over_mutual_tls_is_served_through_the_gateway(tmp_path: Path) -> None:
    """With TLS settings every service speaks TLS, and the gateway dials them with the same CA."""
    from tests.integration.test_tls_mesh import make_certificates

    security = make_certificates(tmp_path)
    tls = {
        "TLS_CERT_FILE": security.tls_cert_file,
        "TLS_KEY_FILE": security.tls_key_file,
        "TLS_CA_FILE": security.tls_ca_file,
    }
    up = UpProcess(tmp_path, ticks=100_000, runners=1, extra_environment=tls)
    try:
        up.wait_for(r"^mesh ready")
        run_id = up.run_id()
        up.wait_for_tick(3)
        runs = httpx.get(f"http://127.0.0.1:{up.gateway_port}/api/v1/runs", timeout=10)
        assert runs.status_code == 200, runs.text
        assert run_id in [run["id"] for run in runs.json()["runs"]]
        code = up.stop(signal.SIGINT)
    finally:
        up.close()
    assert code == 0, up.output
    assert_no_orphans(up)
