"""The runner's side of WorldEngine.Connect: hello, assignments, per-tick decisions, heartbeats,
reconnect with backoff, and a clean goodbye when asked to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import grpc

from emergence.mesh.channels import mesh_channel
from emergence.mesh.errors import from_rpc_error
from emergence.v1 import engine_service_pb2, engine_service_pb2_grpc, run_pb2
from runner.decider import Decider

log = logging.getLogger("emergence.runner.client")

Reconfigure = Callable[[engine_service_pb2.Assignment, Decider], Awaitable[Decider]]
HEARTBEAT_INTERVAL_SECONDS = 2.0
BACKOFF_FIRST_SECONDS = 0.2
BACKOFF_MAX_SECONDS = 5.0
# Statuses that end the runner with their message instead of a reconnect.
REFUSALS = frozenset(
    {
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.INVALID_ARGUMENT,
    }
)
# An engine that dies mid-stream can surface as INTERNAL or UNKNOWN from the gRPC core (a send on
# a broken connection), not only UNAVAILABLE: all mean "connect again", never "give up".
RECONNECT_ON = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
)
BRAIN_KINDS = {
    "heuristic": run_pb2.BRAIN_KIND_HEURISTIC,
    "llm": run_pb2.BRAIN_KIND_LLM,
    "hybrid": run_pb2.BRAIN_KIND_HYBRID,
}


@dataclass
class ClientState:
    """What the status service reports about the connection."""

    connected: bool = False
    agent_ids: list[str] = field(default_factory=list)
    last_tick: int = 0
    run_id: str = ""
    sessions: int = 0


class _Tick:
    """The answers of one tick in flight: model calls run as tasks until the deadline."""

    def __init__(self, tick: int, deadline_monotonic: float) -> None:
        self.tick = tick
        self.deadline_monotonic = deadline_monotonic
        self.tasks: set[asyncio.Task[None]] = set()


class EngineClient:
    def __init__(
        self,
        address: str,
        decider: Decider,
        *,
        runner_id: str,
        brain: str = "heuristic",
        capacity: int = 0,
        stop_event: asyncio.Event | None = None,
        rng: random.Random | None = None,
        auth_token: str = "",
        reconfigure: Reconfigure | None = None,
    ) -> None:
        self.address = address
        self.auth_token = auth_token
        self.decider = decider
        # Called with each assignment: the decider for the run's brain, seed and sections.
        self.reconfigure = reconfigure
        self.runner_id = runner_id
        self.brain = brain
        self.capacity = capacity
        self.stop_event = stop_event or asyncio.Event()
        self.state = ClientState()
        # Jitter only spreads reconnects in time; it never touches a decision.
        self._rng = rng or random.Random(runner_id)
        self._outgoing: asyncio.Queue[engine_service_pb2.ConnectRequest | None] = asyncio.Queue()
        self._current: _Tick | None = None

    async def run(self) -> None:
        """Stay connected until the run ends or the stop event is set."""
        attempt = 0
        while not self.stop_event.is_set():
            try:
                ended = await self._session()
                attempt = 0
                if ended:
                    return
            except grpc.aio.AioRpcError as error:
                if error.code() in REFUSALS:
                    # Retrying cannot help: a wrong token or a refused message is a fault to fix.
                    raise from_rpc_error(
                        error, address=self.address, call="WorldEngine.Connect"
                    ) from error
                if error.code() not in RECONNECT_ON:
                    raise
                unavailable = error.details()
            else:
                unavailable = ""
            finally:
                self.state.connected = False
            if self.stop_event.is_set():
                return
            delay = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2**attempt)
            attempt += 1
            if unavailable and (attempt == 1 or attempt % 10 == 0):
                # Said on the first failure and now and then after, so a wrong address is visible.
                log.warning(
                    "engine at %s unavailable (%s); retrying with backoff (attempt %d)",
                    self.address,
                    unavailable,
                    attempt,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), delay * (0.5 + self._rng.random()))

    async def _requests(self) -> AsyncIterator[engine_service_pb2.ConnectRequest]:
        while True:
            message = await self._outgoing.get()
            if message is None:
                return
            yield message

    def _send(self, message: engine_service_pb2.ConnectRequest) -> None:
        self._outgoing.put_nowait(message)

    async def _session(self) -> bool:
        """One connection; True when the run ended or we said goodbye (no reconnect)."""
        self._outgoing = asyncio.Queue()
        hello = engine_service_pb2.RunnerHello(
            runner_id=self.runner_id,
            brains=[BRAIN_KINDS.get(self.brain, run_pb2.BRAIN_KIND_HEURISTIC)],
            capacity=self.capacity,
            version="1",
            auth_token=self.auth_token,
        )
        self._send(engine_service_pb2.ConnectRequest(hello=hello))
        async with mesh_channel(self.address) as channel:
            call = engine_service_pb2_grpc.WorldEngineStub(channel).Connect(self._requests())
            heartbeat = asyncio.create_task(self._heartbeats())
            stopper = asyncio.create_task(self._stop_when_asked())
            try:
                async for response in call:
                    self.state.connected = True
                    if await self._handle(response):
                        return True
                return self.stop_event.is_set()
            finally:
                heartbeat.cancel()
                stopper.cancel()
                self._abandon_tick()
                self._outgoing.put_nowait(None)

    async def _handle(self, response: engine_service_pb2.ConnectResponse) -> bool:
        kind = response.WhichOneof("message")
        if kind == "assignment":
            if self.reconfigure is not None:
                decider = await self.reconfigure(response.assignment, self.decider)
                if decider is not self.decider:
                    decider.memories.update(self.decider.memories)
                    decider.unsaved.update(self.decider.unsaved)
                    self.decider = decider
            self.state.agent_ids = list(response.assignment.agent_ids)
            self.state.run_id = response.assignment.run_id
            await self.decider.assign_and_load(
                response.assignment.agent_ids,
                response.assignment.run_id,
                response.assignment.added_agent_ids,
            )
        elif kind == "tick_start":
            self._start_tick(response.tick_start)
        elif kind == "perceptions":
            tick, ready = self._answer(response.perceptions)
            if ready:
                # Memories are saved before the decisions leave (write-ahead): if this runner
                # dies once they are sent, the runner that takes its agents over learns their
                # results on the memory that made them, and they go on as they would have here.
                await self.decider.save_memories()
                self._send(self._batch(tick, ready))
        elif kind == "results":
            self.decider.learn(response.results.results)
        elif kind == "tick_end":
            # No save here: what the results taught is saved with the next decisions, and a
            # runner taking these agents over is sent the last results again (see the hub).
            self.state.last_tick = int(response.tick_end.tick)
        elif kind == "run_ended":
            log.info(
                "run %s ended at tick %d", response.run_ended.run_id, response.run_ended.final_tick
            )
            return True
        return False

    def _start_tick(self, start: engine_service_pb2.TickStart) -> None:
        self._abandon_tick()
        remaining_ms = start.deadline_ms or max(0, start.deadline_unix_ms - int(time.time() * 1000))
        margin = self.decider.config.deadline_margin_ms
        deadline = time.monotonic() + max(0, remaining_ms - margin) / 1000
        self._current = _Tick(int(start.tick), deadline)

    def _answer(
        self, batch: engine_service_pb2.PerceptionBatch
    ) -> tuple[int, list[run_pb2.Decision]]:
        """Decide what needs no model now (returned, to be sent); start a task for the rest."""
        current = self._current
        if current is None or current.tick != batch.tick:
            current = self._current = _Tick(int(batch.tick), time.monotonic() + 5.0)
        ready: list[run_pb2.Decision] = []
        for perception in batch.perceptions:
            again = self.decider.decided_before(perception)
            if again is not None:
                ready.append(again)
                continue
            backend = self.decider.needs_model(perception)
            if backend:
                task = asyncio.create_task(self._model_answer(current, perception, backend))
                current.tasks.add(task)
                task.add_done_callback(current.tasks.discard)
            else:
                ready.append(self.decider.decide_now(perception))
        return current.tick, ready

    async def _model_answer(self, current: _Tick, perception: object, backend: str) -> None:
        remaining = current.deadline_monotonic - time.monotonic()
        try:
            decision = await asyncio.wait_for(
                self.decider.decide_with_model(perception, backend, current.deadline_monotonic),  # type: ignore[arg-type]
                timeout=max(0.0, remaining),
            )
        except TimeoutError:
            return  # not ready by the deadline: the engine records a timeout
        if self._current is current:
            await self.decider.save_memories()
            if self._current is current:
                self._send(self._batch(current.tick, [decision]))

    @staticmethod
    def _batch(tick: int, decisions: list[run_pb2.Decision]) -> engine_service_pb2.ConnectRequest:
        return engine_service_pb2.ConnectRequest(
            decisions=engine_service_pb2.DecisionBatch(tick=tick, decisions=decisions)
        )

    def _abandon_tick(self) -> None:
        if self._current is not None:
            for task in list(self._current.tasks):
                task.cancel()
            self._current = None

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_INTERVAL_SECONDS)
            self._send(
                engine_service_pb2.ConnectRequest(
                    heartbeat=engine_service_pb2.Heartbeat(
                        sent_unix_ms=int(time.time() * 1000), tick=self.state.last_tick
                    )
                )
            )

    async def _stop_when_asked(self) -> None:
        """Drain: let this tick's answers finish (until its deadline), then say goodbye."""
        await self.stop_event.wait()
        current = self._current
        if current is not None and current.tasks:
            remaining = max(0.0, current.deadline_monotonic - time.monotonic())
            await asyncio.wait(list(current.tasks), timeout=remaining)
        self._send(
            engine_service_pb2.ConnectRequest(
                goodbye=engine_service_pb2.RunnerGoodbye(reason="runner stopping")
            )
        )
        self._outgoing.put_nowait(None)
