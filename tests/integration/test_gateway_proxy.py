"""A real Envoy in front of a real grpc.aio server: grpc-web, REST/JSON, CORS, dashboard files."""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from emergence.mesh.server import RunningServer, ServiceBinding, start_server
from emergence.v1 import (
    common_pb2,
    observer_service_pb2,
    observer_service_pb2_grpc,
    operator_service_pb2,
    operator_service_pb2_grpc,
    run_pb2,
    world_pb2,
)
from gateway.launcher import EnvoyProcess, start_envoy
from gateway.render import render_envoy_config

LOCAL_ORIGIN = "http://localhost:5173"
Context = grpc.aio.ServicerContext[Any, Any]


@dataclass
class Recorder:
    """What the fake engine was asked, so tests can see what Envoy forwarded."""

    pauses: list[tuple[str, str, str]] = field(default_factory=list)


class FakeObserver(observer_service_pb2_grpc.ObserverServicer):
    async def GetWorld(
        self, request: observer_service_pb2.GetWorldRequest, context: Context
    ) -> observer_service_pb2.GetWorldResponse:
        if request.run_id == "missing":
            await context.abort(grpc.StatusCode.NOT_FOUND, "no run 'missing': list runs first")
        world = world_pb2.WorldView(
            run_id=request.run_id, era=common_pb2.ERA_TRIBAL, population=len(request.run_id)
        )
        return observer_service_pb2.GetWorldResponse(world=world)

    async def StreamTicks(
        self, request: observer_service_pb2.StreamTicksRequest, context: Context
    ) -> AsyncIterator[observer_service_pb2.StreamTicksResponse]:
        for tick in range(request.from_tick + 1, request.from_tick + 4):
            summary = run_pb2.TickSummary(run_id=request.run_id, tick=tick, alive=tick * 2)
            yield observer_service_pb2.StreamTicksResponse(summary=summary)


class FakeOperator(operator_service_pb2_grpc.OperatorServicer):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def Pause(
        self, request: operator_service_pb2.PauseRequest, context: Context
    ) -> operator_service_pb2.PauseResponse:
        token = dict(context.invocation_metadata() or ()).get("authorization", "")
        self.recorder.pauses.append((request.run_id, request.reason, str(token)))
        run = run_pb2.Run(id=request.run_id, status=run_pb2.RUN_STATUS_PAUSED)
        return operator_service_pb2.PauseResponse(run=run)


@dataclass
class Gateway:
    url: str
    recorder: Recorder
    envoy: EnvoyProcess


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def engine(recorder: Recorder) -> AsyncIterator[RunningServer]:
    bindings = [
        ServiceBinding(
            "emergence.v1.Observer",
            lambda server: observer_service_pb2_grpc.add_ObserverServicer_to_server(
                FakeObserver(),  # type: ignore[abstract]  # only two RPCs are called
                server,
            ),
        ),
        ServiceBinding(
            "emergence.v1.Operator",
            lambda server: operator_service_pb2_grpc.add_OperatorServicer_to_server(
                FakeOperator(recorder),  # type: ignore[abstract]  # only Pause is called
                server,
            ),
        ),
    ]
    running = await start_server("127.0.0.1:0", bindings)
    yield running
    await running.stop(0)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def gateway(
    engine: RunningServer, recorder: Recorder, tmp_path: Path
) -> AsyncIterator[Gateway]:
    dashboard = tmp_path / "dashboard"
    dashboard.mkdir()
    (dashboard / "index.html").write_text("<!doctype html><title>Emergence</title>")
    listen_port = free_port()
    config = render_envoy_config(listen_port, engine.address, free_port(), dashboard)
    async with await start_envoy(config, work_dir=tmp_path / "envoy") as envoy:
        yield Gateway(f"http://127.0.0.1:{listen_port}", recorder, envoy)


def grpc_web_frame(message: bytes) -> bytes:
    return struct.pack(">BI", 0, len(message)) + message


def parse_grpc_web(body: bytes) -> tuple[list[bytes], dict[str, str]]:
    """Split a grpc-web response body into data frames and the trailer frame's headers."""
    messages: list[bytes] = []
    trailers: dict[str, str] = {}
    offset = 0
    while offset < len(body):
        flags, length = struct.unpack(">BI", body[offset : offset + 5])
        payload = body[offset + 5 : offset + 5 + length]
        offset += 5 + length
        if flags & 0x80:
            for line in payload.decode().strip().split("\r\n"):
                name, _, value = line.partition(":")
                trailers[name.strip().lower()] = value.strip()
        else:
            messages.append(payload)
    return messages, trailers


async def test_grpc_web_unary_call_reaches_the_engine(gateway: Gateway) -> None:
    request = observer_service_pb2.GetWorldRequest(run_id="run-7")
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        response = await client.post(
            "/emergence.v1.Observer/GetWorld",
            content=grpc_web_frame(request.SerializeToString()),
            headers={
                "content-type": "application/grpc-web+proto",
                "x-grpc-web": "1",
                "origin": LOCAL_ORIGIN,
            },
        )

    messages, trailers = parse_grpc_web(response.content)
    world = observer_service_pb2.GetWorldResponse.FromString(messages[0]).world
    assert response.status_code == 200
    assert trailers["grpc-status"] == "0"
    assert (world.run_id, world.era, world.population) == ("run-7", common_pb2.ERA_TRIBAL, 5)
    assert response.headers["access-control-allow-origin"] == LOCAL_ORIGIN


async def test_rest_get_returns_proto3_json(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        response = await client.get("/api/v1/runs/run-7/world")

    assert response.status_code == 200, response.text
    world = response.json()["world"]
    assert (world["runId"], world["era"], world["population"]) == ("run-7", "ERA_TRIBAL", 5)


async def test_rest_server_stream_is_newline_delimited_json(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        response = await client.get("/api/v1/runs/run-7/ticks:stream", params={"from_tick": 10})

    summaries = [json.loads(line)["summary"] for line in response.text.splitlines() if line]
    assert response.status_code == 200, response.text
    assert [(item["tick"], item["alive"]) for item in summaries] == [
        ("11", 22),
        ("12", 24),
        ("13", 26),
    ]


async def test_rest_post_forwards_the_body_and_the_token(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        response = await client.post(
            "/api/v1/runs/run-7:pause",
            json={"reason": "look closer"},
            headers={"authorization": "Bearer operator-token"},
        )

    assert response.status_code == 200, response.text
    assert response.json()["run"]["status"] == "RUN_STATUS_PAUSED"
    assert gateway.recorder.pauses == [("run-7", "look closer", "Bearer operator-token")]


async def test_rest_errors_become_http_status_with_the_servers_message(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        missing = await client.get("/api/v1/runs/missing/world")
        misspelt = await client.get("/api/v1/runs/run-7/world", params={"no_such_filter": 1})

    assert missing.status_code == 404
    assert "list runs first" in missing.json()["message"]
    assert misspelt.status_code == 400


async def test_cors_preflight_allows_local_dashboards_only(gateway: Gateway) -> None:
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-grpc-web",
    }
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        allowed = await client.options(
            "/emergence.v1.Observer/GetWorld", headers={**preflight, "origin": LOCAL_ORIGIN}
        )
        refused = await client.options(
            "/emergence.v1.Observer/GetWorld",
            headers={**preflight, "origin": "https://elsewhere.example"},
        )

    assert allowed.headers["access-control-allow-origin"] == LOCAL_ORIGIN
    assert "grpc-status" in allowed.headers["access-control-expose-headers"]
    assert "access-control-allow-origin" not in refused.headers


async def test_dashboard_is_served_and_internal_services_are_not(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        page = await client.get("/")
        ledger = await client.post(
            "/emergence.v1.Ledger/GetBalances",
            content=grpc_web_frame(b""),
            headers={"content-type": "application/grpc-web+proto", "x-grpc-web": "1"},
        )

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>Emergence</title>" in page.text
    assert ledger.status_code == 404


async def test_stop_ends_the_envoy_process(gateway: Gateway) -> None:
    exit_code = await gateway.envoy.stop()

    assert gateway.envoy.process.returncode is not None
    assert exit_code == gateway.envoy.process.returncode
