"""Streams of a live run: stored history first, then new ticks as they are committed (woken by
NATS), with no gap and no repeat across the hand-over, ending with OK when the run ends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from emergence.mesh.settings import load_settings
from emergence.v1 import observer_service_pb2, observer_service_pb2_grpc, run_pb2
from engine.app import create_engine
from ledger_service.app import create_ledger_server
from observer_service.app import create_observer_server

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
    try:
        engine.start_loop()
        for _ in range(400):  # some history is stored before anyone watches
            if engine.run.current_tick >= 8:
                break
            await asyncio.sleep(0.05)
        async with grpc.aio.insecure_channel(observer.address) as channel:
            stub = observer_service_pb2_grpc.ObserverStub(channel)
            ticks_call = stub.StreamTicks(
                observer_service_pb2.StreamTicksRequest(run_id=engine.run.id), timeout=60
            )
            events_call = stub.StreamEvents(
                observer_service_pb2.StreamEventsRequest(run_id=engine.run.id), timeout=60
            )
            ticks = [reply.summary.tick async for reply in ticks_call]
            events = [reply.event async for reply in events_call]
            assert await ticks_call.code() == grpc.StatusCode.OK
            assert await events_call.code() == grpc.StatusCode.OK
        # Without runners nobody drinks: the run may end by extinction before TICKS.
        assert engine.run.status == run_pb2.RUN_STATUS_COMPLETED
        assert ticks == list(range(engine.run.current_tick + 1)) and len(ticks) > 12
        stored = await engine.store.events(engine.run.id)
        assert [(e.tick, e.sequence) for e in events] == [(e.tick, e.sequence) for e in stored]
        assert events == stored
    finally:
        if engine.loop_task is not None:
            await asyncio.wait_for(engine.loop_task, 30)
        await observer.close()
        await engine.close()
        await ledger.close()
