"""The real gateway in front of the real services: REST/JSON for a finished run, matching the
OpenAPI document generated from the protos; CORS, refused POSTs, errors, and hostile requests."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest
import pytest_asyncio

from emergence.mesh.settings import load_settings
from emergence.v1 import (
    experiments_service_pb2,
    experiments_service_pb2_grpc,
    observer_service_pb2,
    observer_service_pb2_grpc,
)
from engine.app import EngineHost, create_engine
from gateway.launcher import start_envoy
from gateway.render import OPENAPI_PATH, render_envoy_config
from ledger_service.app import create_ledger_server
from observer_service.app import create_observer_server
from tests.observed_run import FinishedRun, finished_run, heuristic_runner

pytestmark = [pytest.mark.timeout(120), pytest.mark.asyncio(loop_scope="module")]
ORIGIN = "http://localhost:5173"
TOKEN = "gateway-test-operator-token"


@dataclass
class Mesh:
    gateway: str
    finished: FinishedRun
    live_run_id: str
    engine: EngineHost
    grpc_target: str  # the gateway's port, for native gRPC through Envoy


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def mesh(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Mesh]:
    """A finished run and a live one (an engine stepping by hand) in one store; the standalone
    Observer reads it; Envoy routes the Observer there and Operator/Experiments to the engine."""
    folder = tmp_path_factory.mktemp("gateway-rest")
    finished = finished_run(folder / "runs")
    ledger = await create_ledger_server("127.0.0.1:0", f"sqlite:///{folder / 'ledger.sqlite'}")
    settings = load_settings(
        environ={},
        overrides={
            "run.agents": 4,
            "run.decision_deadline_ms": 50,
            "run.ticks": 1000,
            "operator_api_token": TOKEN,
        },
    )
    engine = await create_engine(
        settings, ledger_address=ledger.address, store_url=finished.store_url
    )
    observer = await create_observer_server("127.0.0.1:0", finished.store_url)
    assert engine.server is not None
    port = free_port()
    config = render_envoy_config(
        port,
        engine.server.address,
        free_port(),
        None,
        service_addresses={"emergence.v1.Observer": observer.address},
    )
    try:
        async with (
            heuristic_runner(engine.server.address),
            await start_envoy(config, work_dir=folder / "envoy"),
        ):
            await engine.hub.wait_for_runners(1, timeout_seconds=10)
            gateway = f"http://127.0.0.1:{port}"
            await _wait_until_routed(gateway, finished.run_id)
            yield Mesh(gateway, finished, engine.run.id, engine, f"127.0.0.1:{port}")
    finally:
        await observer.close()
        await engine.close()
        await ledger.close()


async def _wait_until_routed(gateway: str, run_id: str) -> None:
    """Envoy health-checks its upstreams first; wait until both answer through it."""
    async with httpx.AsyncClient(base_url=gateway, timeout=2) as client:
        for _ in range(100):
            world = await client.get(f"/api/v1/runs/{run_id}/world")
            runs = await client.get("/api/v1/runs")
            if world.status_code == 200 and runs.status_code == 200:
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"gateway never routed: {world.status_code} {runs.status_code}")


# ----- the OpenAPI document and every GET path it documents ----------------------------------
def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def check_shape(document: dict[str, Any], schema: dict[str, Any], value: Any, where: str) -> None:
    """Every key of the reply is documented, recursively, with a JSON type the schema allows."""
    schema = resolve(document, schema)
    kind = schema.get("type", "object")
    if kind == "object" and "properties" in schema:
        assert isinstance(value, dict), f"{where}: expected an object, got {value!r:.80}"
        for key, item in value.items():
            assert key in schema["properties"], f"{where}.{key} is not in the OpenAPI document"
            check_shape(document, schema["properties"][key], item, f"{where}.{key}")
    elif kind == "object" and "additionalProperties" in schema:
        assert isinstance(value, dict), where
        for key, item in value.items():
            check_shape(document, schema["additionalProperties"], item, f"{where}[{key}]")
    elif kind == "array":
        assert isinstance(value, list), f"{where}: expected a list"
        for index, item in enumerate(value):
            check_shape(document, schema["items"], item, f"{where}[{index}]")
    elif kind == "string":
        # 64-bit integers are strings in proto3 JSON; enums are their names
        assert isinstance(value, str), f"{where}: expected a string, got {value!r:.80}"
        if "enum" in schema:
            assert value in schema["enum"], f"{where}: {value} is not a documented value"
    elif kind in ("integer", "number"):
        assert isinstance(value, int | float) and not isinstance(value, bool), where
    elif kind == "boolean":
        assert isinstance(value, bool), where


def fill_path(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], path)


async def test_every_documented_get_path_answers_with_the_documented_shape(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.gateway, timeout=20) as client:
        served = await client.get("/api/v1/openapi.json")
        assert served.status_code == 200
        document = served.json()
        assert document == json.loads(OPENAPI_PATH.read_text())
        agents = (await client.get(f"/api/v1/runs/{mesh.finished.run_id}/agents")).json()
        gets = {path: item["get"] for path, item in document["paths"].items() if "get" in item}
        assert "/api/v1/runs/{run_id}/world" in gets and len(gets) >= 15
        answered = []
        for path, operation in sorted(gets.items()):
            tag = operation["tags"][0]
            run_id = mesh.live_run_id if tag == "Experiments" else mesh.finished.run_id
            url = fill_path(
                path, {"run_id": run_id, "agent_id": agents["agents"][0]["id"], "tick": "42"}
            )
            reply = await client.get(url)
            if reply.status_code == 501:
                continue  # another part of the system has not built this RPC yet
            assert reply.status_code == 200, f"{url}: {reply.status_code} {reply.text[:300]}"
            schema = operation["responses"]["200"]["schema"]
            if path.endswith(":stream"):
                lines = [json.loads(line) for line in reply.text.splitlines() if line]
                assert lines, url
                for line in lines:  # one documented message per line
                    check_shape(document, schema, line, url)
            else:
                check_shape(document, schema, reply.json(), url)
            answered.append(path)
        observer_paths = [p for p, op in gets.items() if op["tags"] == ["Observer"]]
        assert set(observer_paths) <= set(answered)


async def test_finished_run_world_and_agent_and_clear_errors_over_rest(mesh: Mesh) -> None:
    run_id = mesh.finished.run_id
    async with httpx.AsyncClient(base_url=mesh.gateway, timeout=20) as client:
        world = await client.get(f"/api/v1/runs/{run_id}/world")
        assert world.status_code == 200 and world.headers["content-type"].startswith(
            "application/json"
        )
        assert world.json()["world"]["clock"]["tick"] == str(mesh.finished.ticks)
        assert world.json()["run"]["status"] == "RUN_STATUS_COMPLETED"
        agent_id = (
            world.json()["world"]["locations"][0]["agentIds"]
            or ((await client.get(f"/api/v1/runs/{run_id}/agents")).json()["agents"][0]["id"])
        )
        agent_id = agent_id[0] if isinstance(agent_id, list) else agent_id
        agent = await client.get(f"/api/v1/runs/{run_id}/agents/{agent_id}")
        assert agent.status_code == 200 and agent.json()["agent"]["id"] == agent_id
        assert agent.json()["recentDecisions"]
        past = await client.get(f"/api/v1/runs/{run_id}/world", params={"tick": 10})
        assert past.json()["world"]["clock"]["tick"] == "10"
        cases = [
            (f"/api/v1/runs/{run_id}/events", {"region": "Atlantis"}, 400, "region"),
            (f"/api/v1/runs/{run_id}/events", {"types": "EVENT_TYPE_NOPE"}, 400, ""),
            (f"/api/v1/runs/{run_id}/events", {"bogus_filter": "1"}, 400, ""),
            (f"/api/v1/runs/{run_id}/agents/nobody", {}, 404, "nobody"),
            (f"/api/v1/runs/{run_id}/world", {"tick": 10**9}, 400, "future"),
            (f"/api/v1/runs/{run_id}/state/999999", {}, 400, "future"),
            ("/api/v1/runs/no-such-run/world", {}, 404, "no-such-run"),
            ("/api/v1/no/such/endpoint", {}, 404, "openapi.json"),
        ]
        for path, params, status, words in cases:
            reply = await client.get(path, params=params)
            assert reply.status_code == status, f"{path} {params}: {reply.status_code} {reply.text}"
            if words:
                assert words in reply.text, reply.text


async def test_rest_cors_preflight_and_refused_text_plain_post(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.gateway, timeout=10) as client:
        preflight = await client.options(
            f"/api/v1/runs/{mesh.live_run_id}:pause",
            headers={
                "origin": ORIGIN,
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type,authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        get = await client.get(
            f"/api/v1/runs/{mesh.finished.run_id}/alerts", headers={"origin": ORIGIN}
        )
        assert get.headers["access-control-allow-origin"] == ORIGIN
        foreign = await client.options(
            f"/api/v1/runs/{mesh.finished.run_id}/world",
            headers={"origin": "http://evil.example", "access-control-request-method": "GET"},
        )
        assert "access-control-allow-origin" not in foreign.headers
        plain = await client.post(
            f"/api/v1/runs/{mesh.live_run_id}:pause",
            content='{"reason": "x"}',
            headers={"content-type": "text/plain", "origin": "http://evil.example"},
        )
        assert plain.status_code == 415 and "application/json" in plain.text
        assert mesh.engine.run.status != 3  # RUN_STATUS_PAUSED: the refused POST changed nothing


async def test_a_hostile_request_does_not_break_another_clients_live_stream(mesh: Mesh) -> None:
    async with grpc.aio.insecure_channel(mesh.grpc_target) as watcher_channel:
        watcher = observer_service_pb2_grpc.ObserverStub(watcher_channel)
        stream = watcher.StreamTicks(
            observer_service_pb2.StreamTicksRequest(run_id=mesh.live_run_id, from_tick=0)
        )
        first = await asyncio.wait_for(anext(aiter(stream)), 10)
        assert first.summary.tick == mesh.engine.run.current_tick or first.summary.tick == 0
        async with httpx.AsyncClient(base_url=mesh.gateway, timeout=10) as client:
            hostile = await client.get(
                f"/api/v1/runs/{'x' * 30_000}/world", headers={"origin": ORIGIN}
            )
            assert hostile.status_code in (404, 414, 431), hostile.status_code
            assert len(hostile.content) < 2000
        async with grpc.aio.insecure_channel(mesh.grpc_target) as attacker_channel:
            attacker = observer_service_pb2_grpc.ObserverStub(attacker_channel)
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await attacker.GetWorld(
                    observer_service_pb2.GetWorldRequest(run_id="y" * 70_000), timeout=10
                )
            assert raised.value.code() == grpc.StatusCode.NOT_FOUND
            assert len(raised.value.details()) < 500
        async with grpc.aio.insecure_channel(mesh.engine.server.address) as engine_channel:  # type: ignore[union-attr]
            experiments = experiments_service_pb2_grpc.ExperimentsStub(engine_channel)
            stepped = await experiments.StepRun(
                experiments_service_pb2.StepRunRequest(run_id=mesh.live_run_id, ticks=2),
                timeout=10,
                metadata=[("authorization", f"Bearer {TOKEN}")],
            )
        last = stepped.summaries[-1].tick
        seen = []
        async for reply in stream:
            seen.append(reply.summary.tick)
            if reply.summary.tick >= last:
                break
        assert seen[-1] == last
        stream.cancel()
