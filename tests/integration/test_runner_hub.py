"""The engine's runner hub over real gRPC: balanced assignment, decision window, vanished runners."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
import pytest

from emergence.mesh.channels import insecure_channel
from emergence.mesh.server import RunningServer
from emergence.v1 import (
    action_pb2,
    engine_service_pb2,
    engine_service_pb2_grpc,
    perception_pb2,
    run_pb2,
)
from engine.adapters.runner_hub import RunnerHub
from tests.hub import serving


class FakeRunner:
    """A minimal runner at our own boundary: answers `rest` for every perception it receives."""

    def __init__(self, address: str, runner_id: str, answer: bool = True) -> None:
        self.address = address
        self.runner_id = runner_id
        self.answer = answer
        self.assigned: list[str] = []
        self.ticks_seen: list[int] = []
        self.results: list[int] = []
        self._outgoing: asyncio.Queue[engine_service_pb2.ConnectRequest | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.assigned_event = asyncio.Event()

    async def _requests(self) -> AsyncIterator[engine_service_pb2.ConnectRequest]:
        yield engine_service_pb2.ConnectRequest(
            hello=engine_service_pb2.RunnerHello(runner_id=self.runner_id, capacity=100)
        )
        while (message := await self._outgoing.get()) is not None:
            yield message

    async def _run(self) -> None:
        async with insecure_channel(self.address) as channel:
            stub = engine_service_pb2_grpc.WorldEngineStub(channel)
            async for message in stub.Connect(self._requests()):
                kind = message.WhichOneof("message")
                if kind == "assignment":
                    self.assigned = list(message.assignment.agent_ids)
                    self.assigned_event.set()
                elif kind == "perceptions" and self.answer:
                    batch = message.perceptions
                    self.ticks_seen.append(batch.tick)
                    decisions = [
                        run_pb2.Decision(
                            agent_id=p.agent_id,
                            tick=batch.tick,
                            action=action_pb2.Action(
                                agent_id=p.agent_id, rest=action_pb2.RestParams()
                            ),
                        )
                        for p in batch.perceptions
                    ]
                    self._outgoing.put_nowait(
                        engine_service_pb2.ConnectRequest(
                            decisions=engine_service_pb2.DecisionBatch(
                                tick=batch.tick, decisions=decisions
                            )
                        )
                    )
                elif kind == "results":
                    self.results.append(len(message.results.results))
                elif kind == "run_ended":
                    break

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def kill(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await self._task


@pytest.fixture
async def hub_server() -> AsyncIterator[tuple[RunnerHub, RunningServer]]:
    hub = RunnerHub(run_id="run-1", seed=1)
    async with serving(hub, grace_seconds=0.5) as server:
        yield hub, server


def perceptions_for(agent_ids: list[str], tick: int) -> dict[str, perception_pb2.Perception]:
    return {a: perception_pb2.Perception(agent_id=a, tick=tick) for a in agent_ids}


async def test_agents_split_evenly_and_decisions_collected(
    hub_server: tuple[RunnerHub, RunningServer],
) -> None:
    hub, server = hub_server
    agents = [f"agent-{i:02d}" for i in range(10)]
    hub.set_living(agents)
    first, second = FakeRunner(server.address, "r1"), FakeRunner(server.address, "r2")
    first.start()
    second.start()
    assert await hub.wait_for_runners(2, 5)
    await asyncio.sleep(0.2)
    sizes = sorted(len(ids) for ids in hub.assignment().values())
    assert sizes == [5, 5]
    assert sorted(first.assigned + second.assigned) == agents
    collected = await hub.collect(1, perceptions_for(agents, 1), deadline_ms=5000)
    assert sorted(collected.decisions) == agents and collected.timed_out == []
    assert collected.wait_ms < 5000  # resolved as soon as every answer was in, not at the deadline
    hub.finish_tick(1, {}, run_pb2.TickSummary(tick=1))
    hub.end_run(run_pb2.END_REASON_MAX_TICKS, 1)
    await first.kill()
    await second.kill()


async def test_runners_answer_the_first_batches_while_the_rest_is_still_being_made(
    hub_server: tuple[RunnerHub, RunningServer],
) -> None:
    """The engine opens the window and sends perceptions as it makes them: answers to the first
    batch come back before the last perception is sent, and the window closes on all of them."""
    hub, server = hub_server
    agents = [f"agent-{i:02d}" for i in range(8)]
    hub.set_living(agents)
    first, second = FakeRunner(server.address, "r1"), FakeRunner(server.address, "r2")
    first.start()
    second.start()
    assert await hub.wait_for_runners(2, 5)
    await asyncio.sleep(0.2)
    perceptions = perceptions_for(agents, 1)
    window = hub.open_window(1, agents, deadline_ms=5000)
    early = {agent: perceptions[agent].SerializeToString() for agent in agents[:4]}
    window.send(early)
    for _ in range(100):
        if len(window.collector.received) == len(early):
            break
        await asyncio.sleep(0.02)
    assert sorted(window.collector.received) == sorted(early)  # decided before the rest exists
    window.send({agent: perceptions[agent] for agent in agents[4:]})
    collected = await window.close()
    assert sorted(collected.decisions) == agents and collected.timed_out == []
    hub.end_run(run_pb2.END_REASON_MAX_TICKS, 1)
    await first.kill()
    await second.kill()


async def test_a_runner_leaving_between_two_sends_loses_no_agent(
    hub_server: tuple[RunnerHub, RunningServer],
) -> None:
    """Its agents already sent are asked again of the keeper at once; those not yet made go to
    the keeper when they are."""
    hub, server = hub_server
    agents = [f"agent-{i}" for i in range(6)]
    hub.set_living(agents)
    keeper = FakeRunner(server.address, "keeper")
    doomed = FakeRunner(server.address, "doomed", answer=False)
    keeper.start()
    doomed.start()
    assert await hub.wait_for_runners(2, 5)
    await asyncio.sleep(0.2)
    perceptions = perceptions_for(agents, 1)
    window = hub.open_window(1, agents, deadline_ms=10_000)
    window.send({agent: perceptions[agent] for agent in agents[:3]})
    await asyncio.sleep(0.2)
    await doomed.kill()
    for _ in range(100):
        if hub.runner_ids == ["keeper"]:
            break
        await asyncio.sleep(0.02)
    window.send({agent: perceptions[agent] for agent in agents[3:]})
    collected = await asyncio.wait_for(window.close(), 5)
    assert sorted(collected.decisions) == agents and collected.timed_out == []
    await keeper.kill()


async def test_silent_agents_time_out_at_the_deadline(
    hub_server: tuple[RunnerHub, RunningServer],
) -> None:
    hub, server = hub_server
    agents = ["a", "b"]
    hub.set_living(agents)
    silent = FakeRunner(server.address, "silent", answer=False)
    silent.start()
    assert await hub.wait_for_runners(1, 5)
    await asyncio.sleep(0.1)
    collected = await hub.collect(1, perceptions_for(agents, 1), deadline_ms=300)
    assert collected.decisions == {} and collected.timed_out == agents
    assert collected.wait_ms >= 290
    await silent.kill()


async def test_a_vanished_runners_agents_are_asked_again_in_the_same_tick(
    hub_server: tuple[RunnerHub, RunningServer],
) -> None:
    hub, server = hub_server
    agents = [f"agent-{i}" for i in range(6)]
    hub.set_living(agents)
    keeper, doomed = (
        FakeRunner(server.address, "keeper"),
        FakeRunner(server.address, "doomed", answer=False),
    )
    keeper.start()
    doomed.start()
    assert await hub.wait_for_runners(2, 5)
    await asyncio.sleep(0.2)
    assert hub.assignment()["doomed"]
    window = asyncio.create_task(hub.collect(1, perceptions_for(agents, 1), deadline_ms=10_000))
    await asyncio.sleep(0.3)
    await doomed.kill()
    collected = await asyncio.wait_for(window, 5)
    # Its agents do not forfeit the tick: the keeper is asked for them at once, in this window.
    assert sorted(collected.decisions) == sorted(agents) and collected.timed_out == []
    assert hub.assignment() == {"keeper": sorted(agents)}
    assert keeper.ticks_seen.count(1) == 2  # its own perceptions, then the orphans'
    collected = await hub.collect(2, perceptions_for(agents, 2), deadline_ms=5000)
    assert sorted(collected.decisions) == sorted(agents)
    await keeper.kill()


async def test_with_no_runner_the_window_waits_past_its_deadline_for_one(
    hub_server: tuple[RunnerHub, RunningServer],
) -> None:
    hub, server = hub_server
    agents = ["a", "b", "c"]
    hub.set_living(agents)
    lonely = FakeRunner(server.address, "lonely", answer=False)
    lonely.start()
    assert await hub.wait_for_runners(1, 5)
    await asyncio.sleep(0.1)
    window = asyncio.create_task(hub.collect(1, perceptions_for(agents, 1), deadline_ms=300))
    await asyncio.sleep(0.1)
    await lonely.kill()
    # Three deadlines later nobody has answered and nobody timed out: the tick is held.
    await asyncio.sleep(0.9)
    assert not window.done()
    returning = FakeRunner(server.address, "returning")
    returning.start()
    collected = await asyncio.wait_for(window, 5)
    assert sorted(collected.decisions) == agents and collected.timed_out == []
    await returning.kill()


async def test_a_window_opened_with_no_runner_waits_for_one(
    hub_server: tuple[RunnerHub, RunningServer],
) -> None:
    """The runners may all be gone before the window opens (while the tick before was being
    stored): nobody may time out for that, the window waits and the next runner decides."""
    hub, server = hub_server
    agents = ["a", "b", "c"]
    hub.set_living(agents)
    gone = FakeRunner(server.address, "gone", answer=False)
    gone.start()
    assert await hub.wait_for_runners(1, 5)
    await asyncio.sleep(0.1)
    await gone.kill()
    for _ in range(50):
        if not hub.runner_ids:
            break
        await asyncio.sleep(0.05)
    assert hub.runner_ids == []
    window = asyncio.create_task(hub.collect(1, perceptions_for(agents, 1), deadline_ms=300))
    await asyncio.sleep(0.9)
    assert not window.done()
    returning = FakeRunner(server.address, "returning")
    returning.start()
    collected = await asyncio.wait_for(window, 5)
    assert sorted(collected.decisions) == agents
    assert collected.timed_out == [] and collected.unassigned == []
    await returning.kill()


async def test_a_runner_joining_mid_window_takes_no_agent_from_a_live_runner_until_it_closes(
    hub_server: tuple[RunnerHub, RunningServer],
) -> None:
    """An agent moved mid-window would be decided by one runner and learn its results in another,
    whose copy of its memory never saw this tick's perception: the split waits for the window."""
    hub, server = hub_server
    agents = [f"agent-{i}" for i in range(6)]
    hub.set_living(agents)
    first = FakeRunner(server.address, "first", answer=False)
    first.start()
    assert await hub.wait_for_runners(1, 5)
    await asyncio.sleep(0.1)
    window = asyncio.create_task(hub.collect(1, perceptions_for(agents, 1), deadline_ms=400))
    await asyncio.sleep(0.1)
    late = FakeRunner(server.address, "late")
    late.start()
    assert await hub.wait_for_runners(2, 5)
    await asyncio.sleep(0.1)
    assert hub.assignment() == {"first": agents, "late": []}
    await asyncio.wait_for(window, 5)
    collected = await hub.collect(2, perceptions_for(agents, 2), deadline_ms=400)
    assignment = hub.assignment()
    assert sorted(len(ids) for ids in assignment.values()) == [3, 3]
    assert sorted(collected.decisions) == assignment["late"]  # only `late` answers
    await first.kill()
    await late.kill()


async def test_a_silent_runner_is_evicted_and_its_agents_move(
    hub_server: tuple[RunnerHub, RunningServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.adapters import runner_hub

    monkeypatch.setattr(runner_hub, "HEARTBEAT_INTERVAL_SECONDS", 0.1)
    monkeypatch.setattr(runner_hub, "SILENCE_EVICTS_AFTER_SECONDS", 0.5)
    hub, server = hub_server
    agents = [f"agent-{i}" for i in range(4)]
    hub.set_living(agents)
    hub.deadline_ms = 300
    hung = FakeRunner(server.address, "hung", answer=False)  # connected, but never says a word
    hung.start()
    assert await hub.wait_for_runners(1, 5)
    healthy = FakeRunner(server.address, "healthy")
    healthy.start()
    assert await hub.wait_for_runners(2, 5)

    async def beat() -> None:
        while True:
            healthy._outgoing.put_nowait(
                engine_service_pb2.ConnectRequest(heartbeat=engine_service_pb2.Heartbeat())
            )
            await asyncio.sleep(0.1)

    beating = asyncio.create_task(beat())
    for _ in range(50):
        if hub.runner_ids == ["healthy"]:
            break
        await asyncio.sleep(0.1)
    assert hub.runner_ids == ["healthy"] and hub.evictions == 1
    assert hub.assignment() == {"healthy": agents}
    beating.cancel()
    await healthy.kill()
    await hung.kill()


async def test_first_message_must_be_hello(hub_server: tuple[RunnerHub, RunningServer]) -> None:
    _hub, server = hub_server

    async def no_hello() -> AsyncIterator[engine_service_pb2.ConnectRequest]:
        yield engine_service_pb2.ConnectRequest(heartbeat=engine_service_pb2.Heartbeat(tick=1))

    async with insecure_channel(server.address) as channel:
        call = engine_service_pb2_grpc.WorldEngineStub(channel).Connect(no_hello())
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            async for _ in call:
                pass
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "RunnerHello" in (raised.value.details() or "")
