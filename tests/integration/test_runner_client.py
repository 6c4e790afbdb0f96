"""The runner's Connect client against a small fake engine on loopback (real grpc.aio)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from emergence.mesh.channels import insecure_channel
from emergence.mesh.server import ServiceBinding, start_server
from emergence.v1 import (
    engine_service_pb2,
    engine_service_pb2_grpc,
    runner_service_pb2,
    runner_service_pb2_grpc,
)
from runner.app import run_runner
from tests.sim.world_builder import make_world
from tests.unit.test_runner_fixtures import perceptions

Response = engine_service_pb2.ConnectResponse


class FakeEngine(engine_service_pb2_grpc.WorldEngineServicer):
    """Assigns every agent, runs `ticks` ticks of real perceptions, then ends the run."""

    def __init__(self, ticks: int, *, end: bool = True, run_id: str = "") -> None:
        self.ticks = ticks
        self.end = end
        self.run_id = run_id
        self.hellos: list[engine_service_pb2.RunnerHello] = []
        self.decisions: dict[int, dict[str, Any]] = {}
        self.heartbeats = 0
        self.goodbye = asyncio.Event()
        self.state = make_world(agents=5, seed=11)

    async def Connect(
        self, request_iterator: AsyncIterator[engine_service_pb2.ConnectRequest], context: Any
    ) -> AsyncIterator[Response]:
        first = await anext(aiter(request_iterator))
        self.hellos.append(first.hello)
        inbox: asyncio.Queue[engine_service_pb2.ConnectRequest] = asyncio.Queue()

        async def read() -> None:
            async for request in request_iterator:
                await inbox.put(request)

        reader = asyncio.create_task(read())
        try:
            views = perceptions(self.state)
            yield Response(
                assignment=engine_service_pb2.Assignment(
                    agent_ids=sorted(views), run_id=self.run_id
                )
            )
            for tick in range(1, self.ticks + 1):
                deadline = int(time.time() * 1000) + 2000
                yield Response(tick_start=engine_service_pb2.TickStart(
                    tick=tick, deadline_unix_ms=deadline, deadline_ms=2000))  # fmt: skip
                batch = [view for view in views.values()]
                for view in batch:
                    view.tick = tick
                yield Response(perceptions=engine_service_pb2.PerceptionBatch(
                    tick=tick, perceptions=batch, last=True))  # fmt: skip
                got = self.decisions.setdefault(tick, {})
                while len(got) < len(batch):
                    request = await asyncio.wait_for(inbox.get(), 5)
                    if request.WhichOneof("message") == "decisions":
                        got.update({d.agent_id: d for d in request.decisions.decisions})
                    elif request.WhichOneof("message") == "heartbeat":
                        self.heartbeats += 1
                yield Response(results=engine_service_pb2.ResultBatch(tick=tick))
                yield Response(tick_end=engine_service_pb2.TickEnd(tick=tick))
            if self.end:
                yield Response(run_ended=engine_service_pb2.RunEnded(final_tick=self.ticks))
                return
            while True:
                request = await inbox.get()
                if request.WhichOneof("message") == "goodbye":
                    self.goodbye.set()
                    return
        finally:
            reader.cancel()


async def serve(engine: FakeEngine) -> Any:
    binding = ServiceBinding(
        "emergence.v1.WorldEngine",
        lambda server: engine_service_pb2_grpc.add_WorldEngineServicer_to_server(engine, server),
    )
    return await start_server("127.0.0.1:0", [binding])


async def test_runner_says_hello_answers_every_tick_and_stops_when_the_run_ends() -> None:
    engine = FakeEngine(ticks=5)
    server = await serve(engine)
    try:
        await asyncio.wait_for(run_runner(server.address, runner_id="r-1", seed=3), 30)
    finally:
        await server.stop(0)
    assert engine.hellos[0].runner_id == "r-1" and engine.hellos[0].brains
    assert sorted(engine.decisions) == [1, 2, 3, 4, 5]
    for tick, decisions in engine.decisions.items():
        assert len(decisions) == 5
        assert all(d.tick == tick and d.record.route for d in decisions.values())


async def test_runner_waits_for_the_engine_then_drains_and_says_goodbye() -> None:
    engine = FakeEngine(ticks=2, end=False)
    port_holder = await serve(FakeEngine(ticks=0))
    address = port_holder.address
    await port_holder.stop(0)
    stop = asyncio.Event()
    runner = asyncio.create_task(
        run_runner(address, runner_id="r-2", seed=3, stop_event=stop, status_address="127.0.0.1:0")
    )
    await asyncio.sleep(0.5)  # the engine is not up yet: the runner keeps retrying
    server = await start_server(address, [ServiceBinding(
        "emergence.v1.WorldEngine",
        lambda s: engine_service_pb2_grpc.add_WorldEngineServicer_to_server(engine, s),
    )])  # fmt: skip
    try:
        for _ in range(100):
            if len(engine.decisions.get(2, {})) == 5:
                break
            await asyncio.sleep(0.1)
        assert len(engine.decisions.get(2, {})) == 5
        stop.set()
        await asyncio.wait_for(runner, 10)
        assert engine.goodbye.is_set()
    finally:
        await server.stop(0)


async def test_status_reports_agents_routes_and_decisions() -> None:
    engine = FakeEngine(ticks=3, end=False)
    server = await serve(engine)
    stop = asyncio.Event()
    status_port = await serve(FakeEngine(ticks=0))
    status_address = status_port.address
    await status_port.stop(0)
    runner = asyncio.create_task(
        run_runner(server.address, runner_id="r-3", stop_event=stop, status_address=status_address)
    )
    try:
        for _ in range(100):
            if len(engine.decisions.get(3, {})) == 5:
                break
            await asyncio.sleep(0.1)
        async with insecure_channel(status_address) as channel:
            reply = await runner_service_pb2_grpc.RunnerStub(channel).Status(
                runner_service_pb2.StatusRequest(), timeout=5
            )
        assert reply.runner_id == "r-3" and reply.connected
        assert len(reply.agent_ids) == 5 and reply.decisions == 15
        assert sum(reply.decisions_by_route.values()) == 15
    finally:
        stop.set()
        await asyncio.wait_for(runner, 10)
        await server.stop(0)
