"""Streams of a live run: stored history first, then new ticks as they are committed (woken by
NATS), with no gap and no repeat across the hand-over, ending with OK when the run ends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from emergence.mesh.settings import load_settings
from emergence.v1 import observer_service_pb2, observer_service_pb2_grpc, run_pb2
from engine.app import EngineHost, create_engine
from ledger_service.app import create_ledger_server
from observer_service.app import create_observer_server
from tests.observed_run import heuristic_runner

pytestmark = [pytest.mark.timeout(120), pytest.mark.nats]
TICKS = 40


async def test_streams_follow_a_live_run_without_gaps_and_end_with_it(
    nats_url: str, tmp_path: Path
) -> None:
    store_url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    ledger = await create_ledger_server("127.0.0.1:0", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    settings = load_settings(
        environ={},
        overrides={
            "run.agents": 4,
            "run.ticks": TICKS,
            "run.decision_deadline_ms": 20,
            "run.tick_interval_ms": 40,
            "storage.nats_url": nats_url,
        },
    )
    engine = await create_engine(settings, ledger_address=ledger.address, store_url=store_url)
    observer = await create_observer_server("127.0.0.1:0", store_url, nats_url)
    assert engine.server is not None
    try:
        async with heuristic_runner(engine.server.address):
            await engine.hub.wait_for_runners(1, timeout_seconds=10)
            engine.start_loop()
            await _watch(engine, observer.address)
    finally:
        if engine.loop_task is not None:
            await asyncio.wait_for(engine.loop_task, 30)
        await observer.close()
        await engine.close()
        await ledger.close()


async def _watch(engine: EngineHost, observer_address: str) -> None:
    """Both streams read at once while the run goes on, from tick 0 (stored) to the end (live)."""
    for _ in range(400):  # some history is stored before anyone watches
        if engine.run.current_tick >= 8:
            break
        await asyncio.sleep(0.05)
    async with grpc.aio.insecure_channel(observer_address) as channel:
        stub = observer_service_pb2_grpc.ObserverStub(channel)
        ticks_call = stub.StreamTicks(
            observer_service_pb2.StreamTicksRequest(run_id=engine.run.id), timeout=60
        )
        events_call = stub.StreamEvents(
            observer_service_pb2.StreamEventsRequest(run_id=engine.run.id), timeout=60
        )
        ticks, events = await asyncio.gather(
            _collect(ticks_call, lambda reply: reply.summary.tick),
            _collect(events_call, lambda reply: reply.event),
        )
        assert await ticks_call.code() == grpc.StatusCode.OK
        assert await events_call.code() == grpc.StatusCode.OK
    assert engine.run.status == run_pb2.RUN_STATUS_COMPLETED
    assert ticks == list(range(TICKS + 1))
    stored = await engine.store.events(engine.run.id)
    assert [(e.tick, e.sequence) for e in events] == [(e.tick, e.sequence) for e in stored]
    assert events == stored


async def _collect(call: Any, pick: Callable[[Any], Any]) -> list[Any]:
    return [pick(reply) async for reply in call]
