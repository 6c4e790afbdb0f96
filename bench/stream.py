"""Stream benchmarks: how long after a tick's commit its summary reaches Observer clients, and how
fast the Observer answers the dashboard's reads (world now and at a past tick, a page of events);
and the runner stream round (`runner_round_against_echo`, used by `bench mesh`).

One process: ledger, engine, a heuristic runner and a standalone `emergence-observer` over the
same SQLite store; NATS when reachable (as `emergence up` runs it), else only the engine-hosted
Observer with its in-process bus. Every client runs on this same machine, so one clock is shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from bench.report import table
from emergence.mesh.channels import insecure_channel
from emergence.mesh.server import MAX_MESSAGE_BYTES, start_server
from emergence.mesh.settings import load_settings
from emergence.v1 import (
    engine_service_pb2,
    observer_service_pb2,
    observer_service_pb2_grpc,
    perception_pb2,
    run_pb2,
)
from engine.adapters.runner_hub import (
    PERCEPTIONS_PER_BATCH,
    RunnerHub,
    hub_binding,
    perception_batch_message,
)
from runner.adapters.engine_client import EngineClient
from runner.core.routing import RunnerConfig
from runner.decider import Decider

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


# ----- the runner stream round against a bare grpc.aio echo of the same batches -----------------


class _CannedDecider(Decider):
    """Answers every perception with the decision computed beforehand: no brain in the round."""

    def __init__(self, canned: Mapping[str, run_pb2.Decision]) -> None:
        super().__init__(RunnerConfig(brain="heuristic"))
        self.canned = canned

    def decided_before(self, perception: perception_pb2.Perception) -> run_pb2.Decision | None:
        return self.canned[perception.agent_id]


def canned_decisions(
    perceptions: Mapping[str, perception_pb2.Perception], seed: int
) -> dict[str, run_pb2.Decision]:
    decider = Decider(RunnerConfig(brain="heuristic"), seed=seed)
    decider.assign(perceptions)
    decisions = {}
    for agent_id, view in sorted(perceptions.items()):
        decider.needs_model(view)
        decisions[agent_id] = decider.decide_now(view)
    return decisions


Round = Callable[[], Awaitable[float]]


@contextlib.asynccontextmanager
async def _hub(
    perceptions: Mapping[str, perception_pb2.Perception],
    canned: Mapping[str, run_pb2.Decision],
    runners: int,
) -> AsyncIterator[Round]:
    """Our engine hub and runner clients over loopback; each round is one decision window of
    perceptions serialized beforehand (the engine serializes each one as it makes it, in its
    perceive phase, where that costs a fraction of serializing them afterwards)."""
    hub = RunnerHub(run_id="bench-round", seed=1)
    server = await start_server("127.0.0.1:0", [hub_binding(hub)])
    stop = asyncio.Event()
    clients = [
        asyncio.create_task(
            EngineClient(
                server.address, _CannedDecider(canned), runner_id=f"runner-{i}", stop_event=stop
            ).run()
        )
        for i in range(runners)
    ]
    tick = int(next(iter(perceptions.values())).tick)

    # Serialized once, as the engine serializes each perception when it makes it: the window
    # sends those bytes.
    payloads = {agent: view.SerializeToString() for agent, view in perceptions.items()}

    async def one_round() -> float:
        collected = await hub.collect(tick, payloads, deadline_ms=60_000)
        if len(collected.decisions) != len(perceptions):
            raise RuntimeError(f"{len(collected.decisions)} of {len(perceptions)} answered")
        return collected.wait_ms

    try:
        await hub.wait_for_runners(runners, timeout_seconds=30)
        hub.set_living(perceptions)
        yield one_round
    finally:
        stop.set()
        hub.end_run(run_pb2.END_REASON_MANUAL, tick)
        await asyncio.wait(clients, timeout=10)
        await server.stop(1.0)


@dataclass(frozen=True)
class _Codec:
    """How the echo's messages cross the wire: raw bytes both ways, or generated messages."""

    request_serializer: Any = None
    request_deserializer: Any = None
    response_serializer: Any = None
    response_deserializer: Any = None


RAW = _Codec()
# The serializers any grpc.aio service of WorldEngine.Connect gets from the generated code.
TYPED = _Codec(
    request_serializer=engine_service_pb2.ConnectRequest.SerializeToString,
    request_deserializer=engine_service_pb2.ConnectRequest.FromString,
    response_serializer=engine_service_pb2.ConnectResponse.SerializeToString,
    response_deserializer=engine_service_pb2.ConnectResponse.FromString,
)


@contextlib.asynccontextmanager
async def _echo(
    batches: list[list[Any]], answers: list[list[Any]], codec: _Codec = RAW
) -> AsyncIterator[Round]:
    """A bare grpc.aio bidirectional stream per runner: the server sends the batches, the client
    answers each with its decision batch. RAW: serialized beforehand, nothing is parsed. TYPED:
    messages built beforehand, serialized and parsed by the generated code on each side (the
    client parses every perception batch, as a runner must), no brain and no checks."""
    outgoing: list[asyncio.Queue[Any]] = []
    replies: asyncio.Queue[Any] = asyncio.Queue()
    joined = asyncio.Event()

    async def serve(requests: AsyncIterator[Any], context: object) -> AsyncIterator[Any]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        outgoing.append(queue)
        await anext(aiter(requests))  # hello
        if len(outgoing) == len(batches):
            joined.set()

        async def read() -> None:
            async for reply in requests:
                replies.put_nowait(reply)

        reader = asyncio.create_task(read())
        try:
            while (message := await queue.get()) is not None:
                yield message
        finally:
            reader.cancel()

    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ]
    )
    handler = grpc.stream_stream_rpc_method_handler(
        serve,
        request_deserializer=codec.request_deserializer,
        response_serializer=codec.response_serializer,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("bench.Echo", {"Round": handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    address = f"127.0.0.1:{port}"
    hello = (
        engine_service_pb2.ConnectRequest(hello=engine_service_pb2.RunnerHello(runner_id="echo"))
        if codec is TYPED
        else b"hello"
    )

    async def client(mine: list[Any]) -> None:
        sending: asyncio.Queue[Any] = asyncio.Queue()
        sending.put_nowait(hello)

        async def requests() -> AsyncIterator[Any]:
            while (message := await sending.get()) is not None:
                yield message

        async with insecure_channel(address) as channel:
            open_stream: Any = channel.stream_stream(
                "/bench.Echo/Round",
                request_serializer=codec.request_serializer,
                response_deserializer=codec.response_deserializer,
            )
            call = open_stream(requests())
            index = 0
            async for _batch in call:
                sending.put_nowait(mine[index % len(mine)])
                index += 1
            sending.put_nowait(None)

    clients = [asyncio.create_task(client(mine)) for mine in answers]
    expected = sum(len(mine) for mine in batches)

    async def one_round() -> float:
        started = time.perf_counter()
        for queue, mine in zip(outgoing, batches, strict=True):
            for batch in mine:
                queue.put_nowait(batch)
        for _ in range(expected):
            await replies.get()
        return (time.perf_counter() - started) * 1000

    try:
        await asyncio.wait_for(joined.wait(), 30)
        yield one_round
    finally:
        for queue in outgoing:
            queue.put_nowait(None)
        await asyncio.wait(clients, timeout=10)
        await server.stop(1.0)


def _echo_payloads(
    perceptions: Mapping[str, perception_pb2.Perception],
    canned: Mapping[str, run_pb2.Decision],
    runners: int,
) -> tuple[list[list[bytes]], list[list[bytes]]]:
    """The batches the hub would send each runner (framed as it frames them) and the decision
    batches it would answer, serialized."""
    batches, answers = _typed_payloads(perceptions, canned, runners)
    return (
        [
            [
                perception_batch_message(
                    int(batch.perceptions.tick),
                    [view.SerializeToString() for view in batch.perceptions.perceptions],
                    batch.perceptions.last,
                )
                for batch in mine
            ]
            for mine in batches
        ],
        [[answer.SerializeToString() for answer in mine] for mine in answers],
    )


def _typed_payloads(
    perceptions: Mapping[str, perception_pb2.Perception],
    canned: Mapping[str, run_pb2.Decision],
    runners: int,
) -> tuple[
    list[list[engine_service_pb2.ConnectResponse]], list[list[engine_service_pb2.ConnectRequest]]
]:
    """The same batches as messages: what a service using the generated code would hold."""
    agents = sorted(perceptions)
    tick = int(perceptions[agents[0]].tick)
    share = -(-len(agents) // runners)
    batches: list[list[engine_service_pb2.ConnectResponse]] = []
    answers: list[list[engine_service_pb2.ConnectRequest]] = []
    for start in range(0, len(agents), share):
        mine = agents[start : start + share]
        chunks = [
            mine[i : i + PERCEPTIONS_PER_BATCH] for i in range(0, len(mine), PERCEPTIONS_PER_BATCH)
        ]
        batches.append(
            [
                engine_service_pb2.ConnectResponse(
                    perceptions=engine_service_pb2.PerceptionBatch(
                        tick=tick,
                        perceptions=[perceptions[a] for a in chunk],
                        last=chunk is chunks[-1],
                    )
                )
                for chunk in chunks
            ]
        )
        answers.append(
            [
                engine_service_pb2.ConnectRequest(
                    decisions=engine_service_pb2.DecisionBatch(
                        tick=tick, decisions=[canned[a] for a in chunk]
                    )
                )
                for chunk in chunks
            ]
        )  # fmt: skip
    return batches, answers


async def runner_round_against_echo(
    perceptions: Mapping[str, perception_pb2.Perception],
    *,
    seed: int = 42,
    runners: int = 2,
    rounds: int = 5,
) -> dict[str, float]:
    """One decision window through our hub and runner clients (decisions computed beforehand,
    so no brain) against bare echoes of the same batches, raw bytes and typed; medians of
    `rounds`, taken in turn."""
    if not perceptions:
        return {}
    canned = canned_decisions(perceptions, seed)
    batches, answers = _echo_payloads(perceptions, canned, runners)
    typed_batches, typed_answers = _typed_payloads(perceptions, canned, runners)
    times: dict[str, list[float]] = {"ours": [], "echo": [], "typed": []}
    async with (
        _hub(perceptions, canned, runners) as ours_round,
        _echo(batches, answers) as echo_round,
        _echo(typed_batches, typed_answers, TYPED) as typed_round,
    ):
        contenders = {"ours": ours_round, "echo": echo_round, "typed": typed_round}
        # Rounds taken in turn, so that the load of a shared machine, which changes over
        # seconds, weighs on the three alike; the first round of each warms its streams up.
        for index in range(rounds + 1):
            for name, one_round in contenders.items():
                elapsed = await one_round()
                if index:
                    times[name].append(elapsed)
    ours_ms, echo_ms = statistics.median(times["ours"]), statistics.median(times["echo"])
    typed_ms = statistics.median(times["typed"])
    return {
        "agents": len(perceptions),
        "ours_ms": round(ours_ms, 1),
        "echo_ms": round(echo_ms, 1),
        "ratio": round(ours_ms / echo_ms, 2) if echo_ms else 0.0,
        "typed_echo_ms": round(typed_ms, 1),
        "typed_ratio": round(ours_ms / typed_ms, 2) if typed_ms else 0.0,
    }
