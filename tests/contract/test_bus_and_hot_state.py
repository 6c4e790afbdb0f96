"""Contract suites for the event bus (in-process, real NATS) and hot state (in-process, real Redis)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from emergence.v1 import event_pb2, run_pb2
from engine.adapters.bus import EventBus, InProcessBus, NatsBus, _matches
from engine.adapters.hot_state import HotState, InProcessHotState, RedisHotState


@pytest.fixture(params=["in-process", "nats"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    chosen: EventBus = (
        InProcessBus()
        if request.param == "in-process"
        else NatsBus(request.getfixturevalue("nats_url"))
    )
    await chosen.open()
    try:
        yield chosen
    finally:
        await chosen.close()


@pytest.fixture(params=["in-process", "redis"])
async def hot_state(request: pytest.FixtureRequest) -> AsyncIterator[HotState]:
    chosen: HotState = (
        InProcessHotState()
        if request.param == "in-process"
        else RedisHotState(request.getfixturevalue("redis_url"))
    )
    await chosen.open()
    try:
        yield chosen
    finally:
        await chosen.close()


def test_subject_wildcards() -> None:
    assert _matches("emergence.r1.>", "emergence.r1.event.agent_born")
    assert _matches("emergence.*.tick", "emergence.r1.tick")
    assert not _matches("emergence.*.tick", "emergence.r1.event.tick")
    assert not _matches("emergence.r1.>", "emergence.r1")


async def _take(
    subscription: AsyncIterator[tuple[str, bytes]], count: int
) -> list[tuple[str, bytes]]:
    received = []
    async for item in subscription:
        received.append(item)
        if len(received) == count:
            break
    return received


async def test_bus_delivers_events_alerts_and_summary_in_order(bus: EventBus) -> None:
    run_id = f"r{uuid.uuid4().hex[:8]}"
    subscription = bus.subscribe(f"emergence.{run_id}.>")
    collector = asyncio.create_task(_take(subscription, 4))
    await asyncio.sleep(
        0.2
    )  # the subscription must exist before publishing (no catch-up on core NATS)
    events = [
        event_pb2.Event(tick=5, sequence=i, type=event_pb2.EVENT_TYPE_AGENT_BORN) for i in range(2)
    ]
    alert = run_pb2.Alert(id="a1", tick=5, kind=event_pb2.ALERT_KIND_FIRST)
    await bus.publish_tick(run_pb2.TickSummary(run_id=run_id, tick=5, alive=9), events, [alert])
    received = await asyncio.wait_for(collector, 5)
    subjects = [subject for subject, _ in received]
    assert subjects == [
        f"emergence.{run_id}.event.agent_born",
        f"emergence.{run_id}.event.agent_born",
        f"emergence.{run_id}.alert",
        f"emergence.{run_id}.tick",
    ]
    assert run_pb2.TickSummary.FromString(received[-1][1]).alive == 9


async def test_hot_state_keeps_the_latest_tick(hot_state: HotState) -> None:
    run_id = f"r{uuid.uuid4().hex[:8]}"
    assert await hot_state.read_latest(run_id) is None
    await hot_state.write_tick(run_id, 3, b"summary-3", {"a1": b"agent-a1"}, b"state-3")
    await hot_state.write_tick(run_id, 4, b"summary-4", {"a2": b"agent-a2"}, b"state-4")
    assert await hot_state.read_latest(run_id) == (4, b"state-4")
    assert await hot_state.agent(run_id, "a1") == b"agent-a1"
    assert await hot_state.agent(run_id, "missing") is None
