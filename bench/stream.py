"""Stream benchmark: how long after a tick's commit its summary reaches Observer clients, and how
fast the Observer answers the dashboard's reads (world now and at a past tick, a page of events).

One process: ledger, engine, a heuristic runner and a standalone `emergence-observer` over the
same SQLite store; NATS when reachable (as `emergence up` runs it), else only the engine-hosted
Observer with its in-process bus. Every client runs on this same machine, so one clock is shared.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc

from bench.report import table
from emergence.mesh.settings import load_settings
from emergence.v1 import observer_service_pb2, observer_service_pb2_grpc

NATS_URL = "nats://127.0.0.1:4222"
CLIENTS = 10


def _reachable(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "p50_ms": 0.0, "p95_ms": 0.0, "max_ms": 0.0}
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "count": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ordered[-1], 1),
    }


async def _watch(address: str, run_id: str, delays: list[float], stop: asyncio.Event) -> None:
    """One client: StreamTicks from now on; delay = arrival - the summary's commit time."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = observer_service_pb2_grpc.ObserverStub(channel)
        call = stub.StreamTicks(observer_service_pb2.StreamTicksRequest(run_id=run_id))
        first = True
        async for reply in call:
            arrived = time.time()
            if first:  # the catch-up of stored ticks is not live delivery
                first = False
                continue
            committed = reply.summary.committed_at.ToNanoseconds() / 1e9
            delays.append((arrived - committed) * 1000)
            if stop.is_set():
                call.cancel()
                return


async def _reads(address: str, run_id: str, tick: int) -> dict[str, dict[str, float]]:
    timings: dict[str, list[float]] = {
        "GetWorld now": [],
        "GetWorld past tick": [],
        "QueryEvents 500": [],
    }
    async with grpc.aio.insecure_channel(address) as channel:
        stub = observer_service_pb2_grpc.ObserverStub(channel)
        for index in range(10):
            started = time.perf_counter()
            await stub.GetWorld(observer_service_pb2.GetWorldRequest(run_id=run_id))
            timings["GetWorld now"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            past = max(1, tick - 7 * index - 3)  # a tick not asked for before: snapshot + replay
            await stub.GetWorld(observer_service_pb2.GetWorldRequest(run_id=run_id, tick=past))
            timings["GetWorld past tick"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await stub.QueryEvents(
                observer_service_pb2.QueryEventsRequest(run_id=run_id, page_size=500)
            )
            timings["QueryEvents 500"].append((time.perf_counter() - started) * 1000)
    return {name: _percentiles(values) for name, values in timings.items()}


async def run_stream_bench(
    agents: int = 20, ticks: int = 120, interval_ms: int = 300
) -> dict[str, Any]:
    from engine.app import create_engine
    from ledger_service.app import create_ledger_server
    from observer_service.app import create_observer_server
    from runner.app import run_runner

    nats_url = NATS_URL if _reachable(4222) else ""
    with tempfile.TemporaryDirectory(prefix="emergence-bench-stream-") as folder:
        store_url = f"sqlite:///{Path(folder) / 'history.sqlite'}"
        ledger = await create_ledger_server(
            "127.0.0.1:0", f"sqlite:///{Path(folder) / 'ledger.sqlite'}"
        )
        settings = load_settings(
            environ={},
            overrides={
                "run.agents": agents,
                "run.ticks": ticks,
                "run.tick_interval_ms": interval_ms,
                "storage.nats_url": nats_url,
            },
        )
        engine = await create_engine(settings, ledger_address=ledger.address, store_url=store_url)
        observer = await create_observer_server("127.0.0.1:0", store_url, nats_url)
        assert engine.server is not None
        stop_runner, stop_watch = asyncio.Event(), asyncio.Event()
        runner = asyncio.create_task(run_runner(engine.server.address, stop_event=stop_runner))
        targets = {"engine-hosted (in-process bus)": engine.server.address}
        if nats_url:
            targets["emergence-observer (NATS)"] = observer.address
        delays: dict[str, list[float]] = {name: [] for name in targets}
        try:
            await engine.hub.wait_for_runners(1, timeout_seconds=30)
            watchers = [
                asyncio.create_task(_watch(address, engine.run.id, delays[name], stop_watch))
                for name, address in targets.items()
                for _ in range(CLIENTS)
            ]
            engine.start_loop()
            assert engine.loop_task is not None
            await asyncio.sleep(ticks * interval_ms / 2000)
            reads = await _reads(observer.address, engine.run.id, engine.run.current_tick)
            await engine.loop_task
            stop_watch.set()
            await asyncio.wait(watchers, timeout=5)
            for watcher in watchers:
                watcher.cancel()
        finally:
            stop_runner.set()
            await asyncio.wait([runner], timeout=10)
            await observer.close()
            await engine.close()
            await ledger.close()
    return {
        "load_average_1min": round(os.getloadavg()[0], 1),
        "agents": agents,
        "ticks": ticks,
        "tick_interval_ms": interval_ms,
        "clients_per_path": CLIENTS,
        "delivery": {name: _percentiles(values) for name, values in delays.items()},
        "reads": reads,
    }


def render(figures: dict[str, Any]) -> str:
    delivery = [
        [name, f["count"], f["p50_ms"], f["p95_ms"], f["max_ms"], "< 200"]
        for name, f in figures["delivery"].items()
    ]
    reads = [[name, f["p50_ms"], f["p95_ms"], f["max_ms"]] for name, f in figures["reads"].items()]
    title = (
        f"`emergence bench stream`: {figures['agents']} agents, {figures['ticks']} ticks every "
        f"{figures['tick_interval_ms']} ms, heuristic runner; {figures['clients_per_path']} "
        "StreamTicks clients per path, all on this machine. Delay = arrival at the client minus "
        "the summary's `committed_at` (stamped just before the history write, so it includes the "
        "write, the bus hop and the Observer's store read). Engine, runner, Observer and clients "
        f"share the process and its 2 cores; load average {figures['load_average_1min']} at the "
        "end (other work was running), so the maxima are scheduling stalls."
    )
    return (
        title
        + "\n\n"
        + table(["path", "summaries", "p50 ms", "p95 ms", "max ms", "target ms"], delivery)
        + "\n\nObserver reads during the run (standalone service, SQLite store):\n\n"
        + table(["call", "p50 ms", "p95 ms", "max ms"], reads)
    )
