"""ListAgentsHere over real gRPC: a runner pages through everyone at its agent's place during the
decision window; hostile or mistaken asks get clear statuses, never INTERNAL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
import pytest

from emergence.mesh.channels import insecure_channel
from emergence.mesh.server import RunningServer
from emergence.v1 import engine_service_pb2, engine_service_pb2_grpc, perception_pb2
from engine.adapters.runner_hub import RunnerHub
from engine.core.state import WorldState
from tests.hub import serving
from tests.sim.world_builder import agent_list, make_world, place

TOKEN = "runner-secret-for-tests"
CROWD = 40


class SilentRunner:
    """Says hello with the token, learns its agents, never answers (the window stays open)."""

    def __init__(self, address: str, runner_id: str) -> None:
        self.address, self.runner_id = address, runner_id
        self.assigned: list[str] = []
        self.perceived = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _requests(self) -> AsyncIterator[engine_service_pb2.ConnectRequest]:
        hello = engine_service_pb2.RunnerHello(runner_id=self.runner_id, auth_token=TOKEN)
        yield engine_service_pb2.ConnectRequest(hello=hello)
        await asyncio.Event().wait()

    async def _run(self) -> None:
        async with insecure_channel(self.address) as channel:
            call = engine_service_pb2_grpc.WorldEngineStub(channel).Connect(self._requests())
            with contextlib.suppress(grpc.aio.AioRpcError):
                async for message in call:
                    if message.WhichOneof("message") == "assignment":
                        self.assigned = list(message.assignment.agent_ids)
                    elif message.WhichOneof("message") == "perceptions":
                        self.perceived.set()

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def crowded_world() -> WorldState:
    state = make_world(agents=CROWD, seed=5)
    for agent in agent_list(state):
        place(state, agent, "riverbank")
    state.tick = 3
    return state


@pytest.fixture
async def window() -> AsyncIterator[tuple[RunnerHub, RunningServer, WorldState, list[str]]]:
    """A hub with two silent runners and an open decision window for tick 3 of a crowded world."""
    hub = RunnerHub(run_id="run-l", seed=1, runner_token=TOKEN)
    async with serving(hub) as server:
        state = crowded_world()
        hub.set_living(state.living_agent_ids())
        runners = [SilentRunner(server.address, "r1"), SilentRunner(server.address, "r2")]
        assert await hub.wait_for_runners(2, 5)
        hub.world = state
        perceptions = {
            a: perception_pb2.Perception(agent_id=a, tick=state.tick)
            for a in state.living_agent_ids()
        }
        collecting = asyncio.create_task(hub.collect(state.tick, perceptions, deadline_ms=30_000))
        await asyncio.wait_for(runners[0].perceived.wait(), 5)
        try:
            yield hub, server, state, sorted(hub.assignment()["r1"])
        finally:
            collecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await collecting
            for runner in runners:
                await runner.stop()


async def ask(
    address: str, **fields: object
) -> engine_service_pb2.ListAgentsHereResponse | grpc.aio.AioRpcError:
    request = engine_service_pb2.ListAgentsHereRequest(
        **{"runner_id": "r1", "auth_token": TOKEN, **fields}  # type: ignore[arg-type]
    )
    async with insecure_channel(address) as channel:
        try:
            return await engine_service_pb2_grpc.WorldEngineStub(channel).ListAgentsHere(request)
        except grpc.aio.AioRpcError as error:
            return error


async def test_a_runner_pages_through_everyone_at_its_agents_place(
    window: tuple[RunnerHub, RunningServer, WorldState, list[str]],
) -> None:
    _, server, state, mine = window
    agent_id = mine[0]
    seen: list[str] = []
    token = ""
    for _ in range(10):
        answer = await ask(
            server.address, agent_id=agent_id, tick=state.tick, page_token=token, page_size=15
        )
        assert isinstance(answer, engine_service_pb2.ListAgentsHereResponse)
        assert answer.count == CROWD - 1 and len(answer.agents) <= 15
        seen += [sighting.agent_id for sighting in answer.agents]
        token = answer.next_page_token
        if not token:
            break
    expected = sorted(a for a in state.locations["riverbank"].agent_ids if a != agent_id)
    assert seen == expected


HOSTILE: dict[str, tuple[dict[str, object], grpc.StatusCode, str]] = {
    "no token": ({"auth_token": ""}, grpc.StatusCode.UNAUTHENTICATED, "missing runner token"),
    "a wrong token": ({"auth_token": "guess"}, grpc.StatusCode.UNAUTHENTICATED, "wrong runner"),
    "an earlier tick": ({"tick": 2}, grpc.StatusCode.FAILED_PRECONDITION, "ask during tick 3"),
    "a later tick": ({"tick": 2**63}, grpc.StatusCode.FAILED_PRECONDITION, "not being decided"),
    "another runner's agent": ({"agent": "r2"}, grpc.StatusCode.PERMISSION_DENIED, "not assigned"),
    "an unknown runner": ({"runner_id": "nobody"}, grpc.StatusCode.PERMISSION_DENIED, "nobody"),
    "an unknown agent": ({"agent_id": "ghost"}, grpc.StatusCode.NOT_FOUND, "ghost"),
    "an empty agent": ({"agent_id": ""}, grpc.StatusCode.NOT_FOUND, "no living agent"),
    "a huge agent id": ({"agent_id": "x" * 100_000}, grpc.StatusCode.INVALID_ARGUMENT, "at most"),
    "a NUL in the id": ({"agent_id": "a\x00b"}, grpc.StatusCode.INVALID_ARGUMENT, "NUL"),
    "a forged page token": ({"page_token": "x"}, grpc.StatusCode.INVALID_ARGUMENT, "page_token"),
    "a huge page token": ({"page_token": "y" * 10**6}, grpc.StatusCode.INVALID_ARGUMENT, "at most"),
    "a huge page size": ({"page_size": 10**9}, grpc.StatusCode.INVALID_ARGUMENT, "page_size"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_a_hostile_or_mistaken_ask_gets_a_clear_status(
    window: tuple[RunnerHub, RunningServer, WorldState, list[str]], case: str
) -> None:
    hub, server, state, mine = window
    changes, status, words = HOSTILE[case]
    fields: dict[str, object] = {"agent_id": mine[0], "tick": state.tick, **changes}
    if fields.pop("agent", None) == "r2":
        fields["agent_id"] = sorted(hub.assignment()["r2"])[0]
    answer = await ask(server.address, **fields)
    assert isinstance(answer, grpc.aio.AioRpcError), case
    assert answer.code() == status, (case, answer.details())
    assert words in (answer.details() or ""), (case, answer.details())
    assert len(answer.details() or "") < 400


async def test_outside_a_decision_window_the_answer_is_failed_precondition() -> None:
    hub = RunnerHub(run_id="run-l", seed=1, runner_token=TOKEN)
    async with serving(hub) as server:
        hub.world = crowded_world()
        answer = await ask(server.address, agent_id="a", tick=3)
        assert isinstance(answer, grpc.aio.AioRpcError)
        assert answer.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "no decision window is open" in (answer.details() or "")
