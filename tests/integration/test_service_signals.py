"""Every service stops cleanly (exit 0) on SIGTERM, SIGINT and SIGHUP – a closed terminal too."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from emergence.mesh.probes import grpc_serving
from emergence.up import free_port
from tests.services import ServiceProcesses


def wait_until(probe: Callable[[], bool], timeout_seconds: float = 30) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.05)
    raise AssertionError("the service did not become ready")


@pytest.mark.parametrize("signal_number", [signal.SIGHUP, signal.SIGINT])
def test_ledger_and_runner_stop_cleanly_on_a_signal(
    tmp_path: Path, signal_number: signal.Signals
) -> None:
    ledger_address = f"127.0.0.1:{free_port()}"
    status_address = f"127.0.0.1:{free_port()}"
    with ServiceProcesses(tmp_path) as services:
        ledger = services.start(
            "ledger",
            "ledger_service.app",
            *("--address", ledger_address, "--store", f"sqlite:///{tmp_path / 'l.sqlite'}"),
        )
        # No engine to talk to: the runner keeps retrying until it is told to stop.
        runner = services.start(
            "runner",
            "runner.app",
            *("--engine", f"127.0.0.1:{free_port()}", "--status-address", status_address),
        )
        for address in (ledger_address, status_address):
            wait_until(grpc_serving(address))
        for process in (ledger, runner):
            process.send_signal(signal_number)
        codes = [process.wait(20) for process in (ledger, runner)]
    assert codes == [0, 0], [
        (tmp_path / f"{n}.log").read_text()[-800:] for n in ("ledger", "runner")
    ]
