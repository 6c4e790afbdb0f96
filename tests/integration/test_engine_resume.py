"""An engine killed mid-run resumes it from the store: same run, contiguous history, books agree."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from emergence.mesh.channels import insecure_channel, wait_until_serving
from emergence.v1 import experiments_service_pb2, experiments_service_pb2_grpc, run_pb2
from tests.contract.test_processes import free_port
from tests.services import ROOT, ServiceProcesses

TICKS = 90


async def _runs(address: str) -> list[run_pb2.Run]:
    async with insecure_channel(address) as channel:
        stub = experiments_service_pb2_grpc.ExperimentsStub(channel)
        return list(
            (await stub.ListRuns(experiments_service_pb2.ListRunsRequest(), timeout=5)).runs
        )


async def _wait_for(address: str, condition: str, check: object) -> run_pb2.Run:
    for _ in range(900):
        runs = await _runs(address)
        if runs and check(runs[-1]):  # type: ignore[operator]
            return runs[-1]
        await asyncio.sleep(0.1)
    raise AssertionError(f"the run never reached: {condition} (last: {runs[-1] if runs else None})")


@pytest.mark.parametrize("named", [False, True], ids=["by-itself", "with-resume-flag"])
async def test_a_killed_engine_resumes_its_run_to_the_end(tmp_path: Path, named: bool) -> None:
    ledger, engine = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    history, books = tmp_path / "history.sqlite", tmp_path / "ledger.sqlite"
    config = tmp_path / "emergence.yaml"
    config.write_text(
        "run: {tick_interval_ms: 30, decision_deadline_ms: 3000, snapshot_every_ticks: 25,"
        f" ticks: {TICKS}, agents: 6, seed: 5}}\n"
    )
    engine_arguments = ["--address", engine, "--ledger", ledger]
    engine_arguments += ["--store", f"sqlite:///{history}", "--config", str(config)]
    with ServiceProcesses(tmp_path) as services:
        services.start(
            "ledger", "ledger_service.app", "--address", ledger, "--store", f"sqlite:///{books}"
        )
        first_engine = services.start("engine", "engine.app", *engine_arguments)
        await wait_until_serving(engine, "emergence.v1.WorldEngine", timeout_seconds=30)
        services.start(
            "runner",
            "runner.app",
            *("--engine", engine, "--status-address", f"127.0.0.1:{free_port()}"),
        )
        before = await _wait_for(engine, "tick 40", lambda run: run.current_tick >= 40)
        first_engine.send_signal(signal.SIGKILL)
        first_engine.wait(10)

        # Started again as it was (or naming the run): it carries on the unfinished run.
        resume = ["--resume", before.id] if named else []
        services.start("engine", "engine.app", *engine_arguments, *resume)
        await wait_until_serving(engine, "emergence.v1.WorldEngine", timeout_seconds=30)
        resumed = (await _runs(engine))[-1]
        assert resumed.id == before.id and resumed.current_tick >= before.current_tick
        done = await _wait_for(
            engine, "completed", lambda run: run.status == run_pb2.RUN_STATUS_COMPLETED
        )
        assert done.id == before.id and done.current_tick == TICKS

    stores = ["--store", f"sqlite:///{history}"]
    verify = _emergence("verify", before.id, *stores, "--ledger-store", f"sqlite:///{books}")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "ticks contiguous from 0" in verify.stdout
    # Replayed from tick 0, the history across the crash is what the rules give: no seam.
    replay = _emergence("replay", before.id, *stores)
    assert replay.returncode == 0 and "matches" in replay.stdout, replay.stdout + replay.stderr


def _emergence(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emergence.cli", *arguments],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
