"""Two runner processes share the agents; one is SIGKILLed mid-tick; the run still reaches its end."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from emergence.mesh.channels import insecure_channel, wait_until_serving
from emergence.v1 import experiments_service_pb2, experiments_service_pb2_grpc, run_pb2
from engine.adapters.event_store import open_event_store
from tests.contract.test_processes import free_port
from tests.services import ServiceProcesses

pytest.importorskip("ledger_service.app", reason="the ledger service is not built yet")
pytest.importorskip("runner.app", reason="the runner service is not built yet")

TICKS = 150


async def _current(address: str) -> run_pb2.Run:
    async with insecure_channel(address) as channel:
        stub = experiments_service_pb2_grpc.ExperimentsStub(channel)
        runs = (await stub.ListRuns(experiments_service_pb2.ListRunsRequest(), timeout=5)).runs
        return runs[-1]


async def test_killed_runner_costs_no_tick_and_the_run_completes(tmp_path: Path) -> None:
    ledger, engine = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    config = tmp_path / "emergence.yaml"
    config.write_text(
        f"run:\n  tick_interval_ms: 40\n  decision_deadline_ms: 3000\n  ticks: {TICKS}\n  agents: 10\n"
    )
    history = tmp_path / "history.sqlite"
    with ServiceProcesses(tmp_path) as services:
        services.start(
            "ledger",
            "ledger_service.app",
            "--address",
            ledger,
            "--store",
            f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        )
        engine_arguments = [
            "--address",
            engine,
            "--ledger",
            ledger,
            "--store",
            f"sqlite:///{history}",
        ]
        services.start(
            "engine", "engine.app", *engine_arguments, "--config", str(config), "--runners", "2"
        )
        await wait_until_serving(engine, "emergence.v1.WorldEngine", timeout_seconds=30)
        runners = [
            services.start(
                name,
                "runner.app",
                *("--engine", engine, "--runner-id", name),
                *("--status-address", f"127.0.0.1:{free_port()}"),
            )
            for name in ("runner-a", "runner-b")
        ]
        doomed = runners[1]
        run = await _current(engine)
        for _ in range(600):
            run = await _current(engine)
            if run.current_tick >= 20:
                break
            await asyncio.sleep(0.05)
        assert run.current_tick >= 20, "the run did not start ticking"
        # Freeze it first so a tick is surely in flight when it dies: the heuristic answers in
        # about a millisecond, so a bare SIGKILL usually lands between ticks and costs nothing.
        doomed.send_signal(signal.SIGSTOP)
        await asyncio.sleep(0.3)
        killed_at = (await _current(engine)).current_tick
        doomed.send_signal(signal.SIGKILL)
        for _ in range(1200):
            run = await _current(engine)
            if run.status == run_pb2.RUN_STATUS_COMPLETED:
                break
            await asyncio.sleep(0.1)
        assert run.status == run_pb2.RUN_STATUS_COMPLETED and run.current_tick == TICKS

    store = open_event_store(f"sqlite:///{history}")
    await store.open()
    try:
        decisions = await store.decisions(run.id)
    finally:
        await store.close()
    # The killed runner's agents forfeited nothing, not even the tick in flight when it died:
    # the other runner was asked for them in the same window.
    timeouts = [d for d in decisions if d.record.brain == run_pb2.BRAIN_KIND_ENGINE]
    assert timeouts == [], sorted({d.tick for d in timeouts})
    assert {d.tick for d in decisions} >= set(range(killed_at, TICKS + 1))
