"""Engine, ledger and runner as separate OS processes: health, reflection, and one tick driven through them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from emergence.mesh.channels import insecure_channel, wait_until_serving
from emergence.v1 import (
    event_pb2,
    experiments_service_pb2,
    experiments_service_pb2_grpc,
    ledger_service_pb2,
    ledger_service_pb2_grpc,
    observer_service_pb2,
    observer_service_pb2_grpc,
    operator_service_pb2,
    operator_service_pb2_grpc,
    run_pb2,
    runner_service_pb2,
    runner_service_pb2_grpc,
)

pytest.importorskip("ledger_service.app", reason="the ledger service is not built yet")
pytest.importorskip("runner.app", reason="the runner service is not built yet")

ROOT = Path(__file__).resolve().parents[2]
OPERATOR_TOKEN = "contract-test-token"
AUTHORIZED = (("authorization", f"Bearer {OPERATOR_TOKEN}"),)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[dict[str, str]]:
    addresses = {name: f"127.0.0.1:{free_port()}" for name in ("ledger", "engine", "runner")}
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "EMERGENCE_LOG_LEVEL": "WARNING",
        "OPERATOR_API_TOKEN": OPERATOR_TOKEN,
    }
    commands = {
        "ledger": [
            sys.executable,
            "-m",
            "ledger_service.app",
            "--address",
            addresses["ledger"],
            "--store",
            f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        ],
        "engine": [
            sys.executable,
            "-m",
            "engine.app",
            "--address",
            addresses["engine"],
            "--ledger",
            addresses["ledger"],
            "--store",
            f"sqlite:///{tmp_path / 'history.sqlite'}",
            "--agents",
            "6",
            "--ticks",
            "50",
            "--seed",
            "3",
            "--manual",
        ],
        "runner": [
            sys.executable,
            "-m",
            "runner.app",
            "--engine",
            addresses["engine"],
            "--runner-id",
            "runner-a",
            "--status-address",
            addresses["runner"],
        ],
    }
    processes: list[subprocess.Popen[bytes]] = []
    logs = {name: open(tmp_path / f"{name}.log", "wb") for name in commands}  # noqa: SIM115
    try:
        for name in ("ledger", "engine", "runner"):
            processes.append(
                subprocess.Popen(
                    commands[name],
                    cwd=ROOT,
                    env=environment,
                    stdout=logs[name],
                    stderr=subprocess.STDOUT,
                )
            )
        yield addresses
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs.values():
            log.close()


async def _services(address: str) -> set[str]:
    async with insecure_channel(address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        async for response in responses:
            return {service.name for service in response.list_services_response.service}
    return set()


async def test_three_processes_serve_health_reflection_and_tick(mesh: dict[str, str]) -> None:
    expected = {
        "ledger": "emergence.v1.Ledger",
        "engine": "emergence.v1.WorldEngine",
        "runner": "emergence.v1.Runner",
    }
    for name, service in expected.items():
        await wait_until_serving(mesh[name], service, timeout_seconds=30)
        async with insecure_channel(mesh[name]) as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(  # type: ignore[attr-defined]
                health_pb2.HealthCheckRequest(service=service), timeout=5
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        services = await _services(mesh[name])
        assert service in services and "grpc.health.v1.Health" in services
    assert {
        "emergence.v1.Observer",
        "emergence.v1.Operator",
        "emergence.v1.Experiments",
    } <= await _services(mesh["engine"])

    async with insecure_channel(mesh["engine"]) as channel:
        experiments = experiments_service_pb2_grpc.ExperimentsStub(channel)
        runs = (
            await experiments.ListRuns(experiments_service_pb2.ListRunsRequest(), timeout=5)
        ).runs
        assert len(runs) == 1
        run_id = runs[0].id
        # the runner must be connected before a tick can collect its decisions
        async with insecure_channel(mesh["runner"]) as runner_channel:
            for _ in range(100):
                status = await runner_service_pb2_grpc.RunnerStub(runner_channel).Status(
                    runner_service_pb2.StatusRequest(), timeout=5
                )
                if status.connected and status.agent_ids:
                    break
                import asyncio

                await asyncio.sleep(0.1)
            assert len(status.agent_ids) == 6
        stepped = await experiments.StepRun(
            experiments_service_pb2.StepRunRequest(run_id=run_id, ticks=1),
            timeout=60,
            metadata=AUTHORIZED,
        )
        assert [s.tick for s in stepped.summaries] == [1]
        assert stepped.summaries[0].alive == 6
        events = await observer_service_pb2_grpc.ObserverStub(channel).QueryEvents(
            observer_service_pb2.QueryEventsRequest(run_id=run_id, from_tick=1, to_tick=1),
            timeout=5,
        )
        assert events.events[0].tick == 1
        decided = await observer_service_pb2_grpc.ObserverStub(channel).ListDecisions(
            observer_service_pb2.ListDecisionsRequest(run_id=run_id, from_tick=1, to_tick=1),
            timeout=5,
        )
        assert len(decided.decisions) == 6
        assert all(d.record.brain for d in decided.decisions)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await experiments.StepRun(
                experiments_service_pb2.StepRunRequest(run_id="nope", ticks=1),
                timeout=5,
                metadata=AUTHORIZED,
            )
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND
        await _pause_resume_and_end(channel, run_id)

    async with insecure_channel(mesh["ledger"]) as channel:
        verified = await ledger_service_pb2_grpc.LedgerStub(channel).Verify(
            ledger_service_pb2.VerifyRequest(run_id=run_id), timeout=10
        )
        assert verified.ok and verified.last_tick == 3


async def _pause_resume_and_end(channel: grpc.aio.Channel, run_id: str) -> None:
    """The operator's pause and resume, and the end of the run, are facts in the history."""
    operator = operator_service_pb2_grpc.OperatorStub(channel)
    experiments = experiments_service_pb2_grpc.ExperimentsStub(channel)
    await operator.Pause(
        operator_service_pb2.PauseRequest(run_id=run_id, reason="look"),
        timeout=5,
        metadata=AUTHORIZED,
    )
    await operator.Resume(
        operator_service_pb2.ResumeRequest(run_id=run_id), timeout=5, metadata=AUTHORIZED
    )
    end = run_pb2.EndConditions(max_ticks=3, stop_on_extinction=True)
    await operator.SetEndCondition(
        operator_service_pb2.SetEndConditionRequest(run_id=run_id, end=end),
        timeout=5,
        metadata=AUTHORIZED,
    )
    stepped = await experiments.StepRun(
        experiments_service_pb2.StepRunRequest(run_id=run_id, ticks=10),
        timeout=60,
        metadata=AUTHORIZED,
    )
    assert [s.tick for s in stepped.summaries] == [2, 3]
    events = (
        await observer_service_pb2_grpc.ObserverStub(channel).QueryEvents(
            observer_service_pb2.QueryEventsRequest(run_id=run_id, from_tick=2, to_tick=3),
            timeout=5,
        )
    ).events
    kinds = [(e.tick, event_pb2.EventType.Name(e.type)) for e in events]
    paused = kinds.index((2, "EVENT_TYPE_SIMULATION_PAUSED"))
    assert kinds[paused - 1] == (2, "EVENT_TYPE_OPERATOR_ACTION")
    assert kinds.index((2, "EVENT_TYPE_SIMULATION_RESUMED")) > paused
    ended = [e for e in events if e.type == event_pb2.EVENT_TYPE_SIMULATION_ENDED]
    assert [(e.tick, e.simulation_ended.reason) for e in ended] == [(3, "max_ticks")]
    assert kinds[-2:] == [(3, "EVENT_TYPE_SIMULATION_ENDED"), (3, "EVENT_TYPE_TICK_END")]
    run = (await experiments.GetRun(experiments_service_pb2.GetRunRequest(run_id=run_id))).run
    assert run.status == run_pb2.RUN_STATUS_COMPLETED and run.current_tick == 3
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await experiments.StepRun(
            experiments_service_pb2.StepRunRequest(run_id=run_id, ticks=1),
            timeout=5,
            metadata=AUTHORIZED,
        )
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "has ended at tick 3" in (raised.value.details() or "")
