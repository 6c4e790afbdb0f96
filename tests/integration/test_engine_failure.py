"""A failure the engine cannot hold through fails the run loudly: FAILED with its reason, and the
engine process exits non-zero instead of serving a run that silently stopped."""

from __future__ import annotations

import asyncio
from pathlib import Path

from emergence.mesh.channels import insecure_channel, wait_until_serving
from emergence.v1 import ledger_service_pb2, ledger_service_pb2_grpc, run_pb2
from engine.adapters.event_store import open_event_store
from tests.private_services import free_port
from tests.services import ServiceProcesses


async def _stored_run(history: Path) -> run_pb2.Run | None:
    store = open_event_store(f"sqlite:///{history}")
    await store.open()
    try:
        runs = await store.list_runs()
        if not runs:
            return None
        run = runs[-1]
        run.current_tick = max(run.current_tick, await store.last_tick(run.id))
        return run
    finally:
        await store.close()


async def test_a_ledger_that_lost_the_run_fails_it_and_the_engine_exits(tmp_path: Path) -> None:
    ledger, engine = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    history = tmp_path / "history.sqlite"
    config = tmp_path / "emergence.yaml"
    config.write_text("run: {tick_interval_ms: 30, ticks: 500, agents: 6, seed: 2}\n")
    with ServiceProcesses(tmp_path) as services:
        services.start(
            "ledger", "ledger_service.app", "--address", ledger,
            "--store", f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        )  # fmt: skip
        engine_process = services.start(
            "engine", "engine.app", "--address", engine, "--ledger", ledger,
            "--store", f"sqlite:///{history}", "--config", str(config),
        )  # fmt: skip
        await wait_until_serving(engine, "emergence.v1.WorldEngine", timeout_seconds=30)
        services.start("runner", "runner.app", "--engine", engine,
                       "--status-address", f"127.0.0.1:{free_port()}")  # fmt: skip
        run = None
        for _ in range(300):
            run = await _stored_run(history)
            if run is not None and run.current_tick >= 5:
                break
            await asyncio.sleep(0.1)
        assert run is not None and run.current_tick >= 5
        # Someone rewinds the ledger behind the engine's back: its next tick would leave a gap,
        # which no retry can mend.
        async with insecure_channel(ledger) as channel:
            await ledger_service_pb2_grpc.LedgerStub(channel).Rewind(
                ledger_service_pb2.RewindRequest(run_id=run.id, tick=0), timeout=10
            )
        code = await asyncio.to_thread(engine_process.wait, 60)
        assert code == 1
    failed = await _stored_run(history)
    assert failed is not None and failed.status == run_pb2.RUN_STATUS_FAILED
    assert failed.end_reason == run_pb2.END_REASON_ERROR
    assert "gap" in failed.failure_reason, failed.failure_reason
    log = (tmp_path / "engine.log").read_text()
    assert f"run {run.id} failed" in log
