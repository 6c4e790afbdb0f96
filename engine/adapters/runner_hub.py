"""WorldEngine.Connect: runners dial in, get agents assigned, receive perceptions, answer decisions."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc

from emergence.mesh import metrics
from emergence.mesh.errors import (
    EmergenceError,
    FailedPrecondition,
    InvalidArgument,
    PermissionDenied,
    Unauthenticated,
)
from emergence.mesh.limits import quote
from emergence.mesh.metrics import brain_label
from emergence.mesh.server import ServiceBinding
from emergence.mesh.validation import check_request
from emergence.v1 import (
    engine_service_pb2,
    engine_service_pb2_grpc,
    perception_pb2,
    run_pb2,
)
from engine.adapters.agents_here import page_of_agents_here
from engine.adapters.runner_checks import admit_batch, check_hello
from engine.adapters.wire import varint
from engine.core.state import WorldState

log = logging.getLogger("emergence.engine.hub")


def _bearer(metadata: object) -> str:
    """The token of an `authorization: Bearer <token>` header, or ""."""
    for key, value in metadata or ():  # type: ignore[attr-defined]
        if key == "authorization" and isinstance(value, str) and value.startswith("Bearer "):
            return value[len("Bearer ") :]
    return ""


PERCEPTIONS_PER_BATCH = 100


def perception_batch_message(tick: int, payloads: list[bytes], last: bool) -> bytes:
    """A serialized ConnectResponse{perceptions: PerceptionBatch{tick, perceptions, last}} made of
    perceptions serialized once: building the batch as a message copied every perception into it
    (about an eighth of the engine's time at 1 000 agents), and gRPC then serialized the copies."""
    parts = [b"\x08", varint(tick)]  # field 1, varint: tick
    for payload in payloads:
        parts += (b"\x12", varint(len(payload)), payload)  # field 2, bytes: one perception
    if last:
        parts.append(b"\x18\x01")  # field 3, varint: last
    size = sum(map(len, parts))
    # ConnectResponse field 3 (perceptions), joined in one copy.
    return b"".join([b"\x1a", varint(size), *parts])


def serialize_response(message: engine_service_pb2.ConnectResponse | bytes) -> bytes:
    """Connect's response serializer: messages as usual, perception batches already serialized."""
    if isinstance(message, bytes):
        return message
    return message.SerializeToString()


CONNECT_METHOD = "/emergence.v1.WorldEngine/Connect"


def hub_binding(hub: RunnerHub) -> ServiceBinding:
    """WorldEngine served by `hub`. Connect checks every field of what runners send itself
    (`runner_checks`: limits, NUL bytes, whose agent, which tick), so the server's shared NUL
    scan does not walk every decision a second time."""
    return ServiceBinding(
        "emergence.v1.WorldEngine",
        lambda server: add_hub_to_server(hub, server),
        checks_every_field=frozenset({CONNECT_METHOD}),
    )


def add_hub_to_server(hub: RunnerHub, server: grpc.aio.Server) -> None:
    """Serve WorldEngine.Connect from `hub` (the generated helper cannot send serialized batches)."""
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
        "Connect": grpc.stream_stream_rpc_method_handler(
            hub.Connect,
            request_deserializer=engine_service_pb2.ConnectRequest.FromString,
            response_serializer=serialize_response,
        ),
        "ListAgentsHere": grpc.unary_unary_rpc_method_handler(
            hub.ListAgentsHere,
            request_deserializer=engine_service_pb2.ListAgentsHereRequest.FromString,
            response_serializer=engine_service_pb2.ListAgentsHereResponse.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("emergence.v1.WorldEngine", handlers),)
    )
    server.add_registered_method_handlers("emergence.v1.WorldEngine", handlers)


HEARTBEAT_INTERVAL_SECONDS = 2.0
# A runner silent for this long (no heartbeat, no decision) is hung: evicted, its agents moved.
# Runners beat every 2 s, so 3 missed beats or one decision window, whichever is longer.
SILENCE_EVICTS_AFTER_SECONDS = 6.0


@dataclass
class RunnerConnection:
    runner_id: str
    capacity: int
    outgoing: asyncio.Queue[engine_service_pb2.ConnectResponse | bytes | None]
    agent_ids: set[str] = field(default_factory=set)
    last_seen: float = field(default_factory=time.monotonic)
    decisions: int = 0
    closed: bool = False
    # Why the engine ends this connection (a refused message), told to the runner as its status.
    refusal: InvalidArgument | None = None

    def send(self, message: engine_service_pb2.ConnectResponse | bytes) -> None:
        if not self.closed:
            self.outgoing.put_nowait(message)


@dataclass
class _TickCollector:
    tick: int
    expected: dict[str, str]  # agent id -> runner id
    # Each agent's perception, serialized once (sent again as it is if its runner leaves).
    perceptions: dict[str, bytes] = field(default_factory=dict)
    deadline_ms: int = 0
    deadline_monotonic: float = 0.0
    started_runners: set[str] = field(default_factory=set)  # sent this tick's TickStart
    received: dict[str, run_pb2.Decision] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    rejected_late_or_foreign: int = 0

    def check_done(self) -> None:
        if len(self.received) >= len(self.expected):
            self.done.set()


@dataclass(frozen=True)
class CollectedDecisions:
    decisions: dict[str, run_pb2.Decision]
    arrival_order: list[str]
    timed_out: list[str]
    unassigned: list[str]
    wait_ms: float


@dataclass
class DecisionWindow:
    """One open decision window: perceptions go out as they are made (`send`), then `close`
    waits for the answers. A runner starts deciding on its first batch while the engine still
    makes the rest."""

    hub: RunnerHub
    collector: _TickCollector
    unassigned: list[str]
    # Perceptions each runner was told to expect (TickStart) and has not been sent yet.
    unsent: dict[str, int]
    opened: float

    @property
    def tick(self) -> int:
        return self.collector.tick

    def remaining_by_runner(self) -> dict[str, list[str]]:
        """The agents each runner is expected to answer for and has not been sent, sorted."""
        mine: dict[str, list[str]] = {runner: [] for runner in self.unsent}
        for agent in sorted(self.collector.expected):
            runner_id = self.collector.expected[agent]
            if runner_id in mine and agent not in self.collector.perceptions:
                mine[runner_id].append(agent)
        return mine

    def send(self, payloads: Mapping[str, perception_pb2.Perception | bytes]) -> None:
        """Send these agents' perceptions (serialized, or messages) to their runners now."""
        if payloads:
            self.hub._send_batches(self, payloads)

    async def close(self) -> CollectedDecisions:
        """Every perception sent: wait for all answers or the deadline."""
        return await self.hub._close_window(self)


class RunnerHub(engine_service_pb2_grpc.WorldEngineServicer):
    """Balances agents across connected runners and runs the per-tick decision window."""

    def __init__(
        self,
        *,
        run_id: str = "",
        seed: int = 0,
        runner_token: str = "",
        decision_config: engine_service_pb2.Assignment | None = None,
    ) -> None:
        self.run_id = run_id
        self.seed = seed
        # Empty: any runner may connect (a test hub); the engine service always sets one.
        self.runner_token = runner_token
        # The run's brain and its runner/llm sections, sent with every assignment so runners
        # decide as the run's config says, not as their own settings say.
        self.decision_config = decision_config or engine_service_pb2.Assignment()
        self._last_tick_started = 0
        self._runners: dict[str, RunnerConnection] = {}
        self._living: list[str] = []
        self._collector: _TickCollector | None = None
        # A runner joined while a decision window was open: the even split waits for the window
        # to close (see `rebalance`).
        self._split_pending = False
        self._membership_changed = asyncio.Event()
        self._connected = asyncio.Condition()
        self.dropped_decisions = 0
        self.reassignments = 0
        self.evictions = 0
        self.ended = False
        self.deadline_ms = 8000
        self._last_results: tuple[int, Mapping[str, object]] | None = None
        # The world the open decision window perceived (ListAgentsHere answers from it).
        self.world: WorldState | None = None
        # Told (tick, True) when a decision window starts waiting for a runner, (tick, False) when
        # it stops: the engine reports the hold like any other outage.
        self.on_window_held: Callable[[int, bool], None] | None = None
        # Set when the engine stops: a window held open for want of runners closes at once.
        self.stop_holding = False

    # ----- connection handling -------------------------------------------------------------
    async def Connect(  # type: ignore[override]
        self,
        request_iterator: AsyncIterator[engine_service_pb2.ConnectRequest],
        context: grpc.aio.ServicerContext[
            engine_service_pb2.ConnectRequest, engine_service_pb2.ConnectResponse
        ],
    ) -> AsyncIterator[engine_service_pb2.ConnectResponse | bytes]:
        # Perception batches go out serialized (see add_hub_to_server), other messages as they are.
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("message") != "hello":
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "the first message on WorldEngine.Connect must be a RunnerHello",
            )
            return
        hello = first.hello
        refusal = self._refuse_hello(hello, context.invocation_metadata())
        if refusal is not None:
            metrics.ENGINE_PEER_REFUSALS.labels(refusal.status_code.name.lower()).inc()
            log.warning("runner refused at hello: %s", refusal)
            await context.abort(refusal.status_code, str(refusal))
            return
        runner_id = hello.runner_id or f"runner-{len(self._runners) + 1}"
        if runner_id in self._runners and not self._runners[runner_id].closed:
            await context.abort(
                grpc.StatusCode.ALREADY_EXISTS,
                f"runner id {runner_id!r} is already connected: give each runner a unique --runner-id",
            )
            return
        connection = RunnerConnection(runner_id, hello.capacity or 1_000_000, asyncio.Queue())
        self._runners[runner_id] = connection
        metrics.ENGINE_RUNNERS_CONNECTED.set(len(self._runners))
        log.info("runner %s connected (capacity %d)", runner_id, connection.capacity)
        self.rebalance()
        if self._collector is not None:
            self._resend_orphans(self._collector)
        async with self._connected:
            self._connected.notify_all()
        reader = asyncio.create_task(self._read(connection, request_iterator))
        heartbeat = asyncio.create_task(self._heartbeat(connection))
        try:
            while True:
                message = await connection.outgoing.get()
                if message is None:
                    break
                yield message
        finally:
            reader.cancel()
            heartbeat.cancel()
            self._disconnect(connection)
        if connection.refusal is not None:
            await context.abort(connection.refusal.status_code, str(connection.refusal))

    def _refuse_hello(
        self,
        hello: engine_service_pb2.RunnerHello,
        metadata: object,
    ) -> EmergenceError | None:
        """Why this hello may not join (no or a wrong runner token, a malformed hello), or None."""
        refused = self._token_problem(hello.auth_token or _bearer(metadata), "RunnerHello")
        if refused is not None:
            return refused
        try:
            check_hello(hello)
        except InvalidArgument as error:
            return error
        return None

    def _token_problem(self, supplied: str, message: str) -> Unauthenticated | None:
        """Why `supplied` is not this engine's runner token, or None (also with no token set)."""
        if not self.runner_token:
            return None
        if not supplied:
            return Unauthenticated(
                f"missing runner token: this engine requires one in {message}.auth_token "
                "(or the header 'authorization: Bearer <token>')",
                hint="start the runner with RUNNER_TOKEN set to the engine's runner token",
            )
        if not hmac.compare_digest(supplied.encode(), self.runner_token.encode()):
            return Unauthenticated(
                "wrong runner token",
                hint="use the value of RUNNER_TOKEN the engine was started with",
            )
        return None

    async def ListAgentsHere(
        self,
        request: engine_service_pb2.ListAgentsHereRequest,
        context: grpc.aio.ServicerContext[
            engine_service_pb2.ListAgentsHereRequest, engine_service_pb2.ListAgentsHereResponse
        ],
    ) -> engine_service_pb2.ListAgentsHereResponse:
        """Everyone at one of the caller's agents' location, for the tick being decided (paged)."""
        refused = self._token_problem(
            request.auth_token or _bearer(context.invocation_metadata()), "ListAgentsHereRequest"
        )
        if refused is not None:
            raise refused
        collector, world = self._collector, self.world
        if collector is None or world is None or world.tick != collector.tick:
            raise FailedPrecondition(
                f"no decision window is open (last started: tick {self._last_tick_started})",
                hint="ask while deciding a tick, for that tick",
            )
        conn = self._runners.get(request.runner_id)
        if conn is None:
            raise PermissionDenied(f"runner {quote(request.runner_id)} is not connected")
        if request.agent_id not in conn.agent_ids and request.agent_id in world.agents:
            raise PermissionDenied(
                f"agent {quote(request.agent_id)} is not assigned to runner {quote(conn.runner_id)}"
            )
        return page_of_agents_here(world, request)

    async def _read(
        self,
        connection: RunnerConnection,
        request_iterator: AsyncIterator[engine_service_pb2.ConnectRequest],
    ) -> None:
        try:
            async for request in request_iterator:
                connection.last_seen = time.monotonic()
                kind = request.WhichOneof("message")
                if kind == "decisions":
                    self._accept(connection, request.decisions)  # every field checked there
                    continue
                check_request(request)  # the rest (heartbeats, goodbyes): the shared NUL scan
                if kind == "hello":
                    raise InvalidArgument("a second RunnerHello on one stream")
                elif kind == "goodbye":
                    log.info(
                        "runner %s says goodbye: %s",
                        connection.runner_id,
                        quote(request.goodbye.reason),  # a peer's text: a short slice only
                    )
                    break
        except InvalidArgument as error:
            # The runner broke a limit or a rule: end its stream with the reason; its agents
            # forfeit this tick and go to the other runners.
            connection.refusal = error
            metrics.ENGINE_PEER_REFUSALS.labels("invalid_argument").inc()
            log.warning("runner %s refused: %s", connection.runner_id, error)
        except (grpc.aio.AioRpcError, asyncio.CancelledError):
            pass
        finally:
            connection.outgoing.put_nowait(None)

    async def _heartbeat(self, connection: RunnerConnection) -> None:
        while not connection.closed:
            asleep = time.monotonic()
            await asyncio.sleep(HEARTBEAT_INTERVAL_SECONDS)
            stalled = time.monotonic() - asleep - HEARTBEAT_INTERVAL_SECONDS
            if stalled > HEARTBEAT_INTERVAL_SECONDS / 2:
                # This process could not run (a long phase of the tick in this thread, or a
                # starved machine): what the runner sent meanwhile is still unread, so that time
                # is not its silence. It is judged again after the reader has caught up.
                connection.last_seen = min(time.monotonic(), connection.last_seen + stalled)
                continue
            silence = max(SILENCE_EVICTS_AFTER_SECONDS, self.deadline_ms / 1000)
            if time.monotonic() - connection.last_seen > silence:
                log.warning(
                    "runner %s silent for %.1f s: evicted, its agents are reassigned",
                    connection.runner_id,
                    time.monotonic() - connection.last_seen,
                )
                self.evictions += 1
                self._disconnect(connection)
                connection.outgoing.put_nowait(None)
                return
            tick = self._collector.tick if self._collector else 0
            connection.send(
                engine_service_pb2.ConnectResponse(
                    heartbeat=engine_service_pb2.Heartbeat(
                        sent_unix_ms=int(time.time() * 1000), tick=tick
                    )
                )
            )

    def _disconnect(self, connection: RunnerConnection) -> None:
        if connection.closed:
            return
        connection.closed = True
        if self._runners.get(connection.runner_id) is connection:
            del self._runners[connection.runner_id]
        metrics.ENGINE_RUNNERS_CONNECTED.set(len(self._runners))
        if self.ended:
            log.info("runner %s left after the end of the run", connection.runner_id)
            return
        log.warning("runner %s disconnected; its agents are reassigned", connection.runner_id)
        connection.agent_ids.clear()
        self.rebalance()
        if self._collector is not None:
            self._resend_orphans(self._collector)

    def _resend_orphans(self, collector: _TickCollector) -> None:
        """Agents whose runner left mid-tick are asked again, this tick, of their new runner.

        They do not forfeit the tick: the same perception gets the same decision from any runner
        (the brain's randomness is per agent and tick), so losing a runner changes no history.
        With no runner left they wait, and the window stays open until one connects.
        """
        if set(collector.expected.values()) <= self._runners.keys():
            return  # every agent's runner is still here (each window asks this once)
        owner = {
            agent: conn.runner_id for conn in self._runners.values() for agent in conn.agent_ids
        }
        moved: dict[str, list[str]] = {}
        for agent_id, runner_id in sorted(collector.expected.items()):
            if agent_id in collector.received or runner_id in self._runners:
                continue
            new_owner = owner.get(agent_id)
            if new_owner is not None and agent_id in collector.perceptions:
                collector.expected[agent_id] = new_owner
                moved.setdefault(new_owner, []).append(agent_id)
        if not moved:
            return
        collector.deadline_monotonic = max(
            collector.deadline_monotonic, time.monotonic() + collector.deadline_ms / 1000
        )
        deadline_unix_ms = int(time.time() * 1000) + collector.deadline_ms
        for runner_id, agent_ids in moved.items():
            log.info(
                "tick %d: %d agents asked again of runner %s",
                collector.tick,
                len(agent_ids),
                runner_id,
            )
            self._send_tick(
                self._runners[runner_id],
                collector.tick,
                [collector.perceptions[a] for a in agent_ids],
                collector.deadline_ms,
                deadline_unix_ms,
                start=runner_id not in collector.started_runners,
            )
            collector.started_runners.add(runner_id)

    def _accept(
        self, connection: RunnerConnection, batch: engine_service_pb2.DecisionBatch
    ) -> None:
        """Take a batch whole or not at all: a late one (its window closed) is dropped quietly,
        anything else that breaks a limit or a rule raises InvalidArgument and changes nothing."""
        collector = self._collector
        open_tick = collector.tick if collector is not None else self._last_tick_started
        if batch.tick > open_tick:
            raise InvalidArgument(
                f"decisions for tick {batch.tick}, but tick {open_tick} is the latest started; "
                "answer each perception under the tick it came with"
            )
        if collector is None or batch.tick < collector.tick:
            self.dropped_decisions += len(batch.decisions)
            return
        admitted = admit_batch(
            batch,
            tick=collector.tick,
            runner_id=connection.runner_id,
            assigned=collector.expected,
            already_received=collector.received.keys(),
        )
        by_brain: dict[int, int] = {}
        for decision in admitted:
            collector.received[decision.agent_id] = decision
            brain = int(decision.record.brain)
            by_brain[brain] = by_brain.get(brain, 0) + 1
            collector.order.append(decision.agent_id)
        connection.decisions += len(admitted)
        for brain, count in by_brain.items():  # one counter update per brain, not per decision
            metrics.ENGINE_DECISIONS.labels(brain_label(brain)).inc(count)
        collector.check_done()

    # ----- assignment ----------------------------------------------------------------------
    @property
    def runner_ids(self) -> list[str]:
        return sorted(self._runners)

    def assignment(self) -> dict[str, list[str]]:
        return {rid: sorted(conn.agent_ids) for rid, conn in sorted(self._runners.items())}

    async def wait_for_runners(self, count: int, timeout_seconds: float) -> bool:
        async with self._connected:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._connected.wait_for(lambda: len(self._runners) >= count), timeout_seconds
                )
        return len(self._runners) >= count

    def set_living(self, agent_ids: Iterable[str]) -> None:
        living = sorted(agent_ids)
        if living != self._living:
            self._living = living
            self.rebalance()

    def rebalance(self) -> None:
        """Even split, keeping agents where they are when the runner still has room.

        While a decision window is open, only agents without a live runner move: an agent taken
        from a live runner mid-window could be decided there on the memory that saw this tick's
        perception while its results go to a runner whose copy of that memory never saw it (the
        history would then depend on timing). The even split waits for the next window."""
        runners = [self._runners[rid] for rid in sorted(self._runners)]
        if not runners:
            return
        if self._collector is not None:
            self._split_pending = True
            self._place_orphans(runners)
            return
        self._split_pending = False
        living = set(self._living)
        base, extra = divmod(len(self._living), len(runners))
        targets = {
            conn.runner_id: min(conn.capacity, base + (1 if i < extra else 0))
            for i, conn in enumerate(runners)
        }
        before = {conn.runner_id: set(conn.agent_ids) for conn in runners}
        placed: set[str] = set()
        for conn in runners:
            keep = sorted(conn.agent_ids & living)[: targets[conn.runner_id]]
            conn.agent_ids = set(keep)
            placed.update(keep)
        waiting = [agent for agent in self._living if agent not in placed]
        for conn in runners:
            room = targets[conn.runner_id] - len(conn.agent_ids)
            if room > 0:
                conn.agent_ids.update(waiting[:room])
                waiting = waiting[room:]
        self._announce_changes(runners, before)

    def _place_orphans(self, runners: list[RunnerConnection]) -> None:
        """Agents whose runner is gone go to the live runners with the fewest agents."""
        before = {conn.runner_id: set(conn.agent_ids) for conn in runners}
        owned = set().union(*before.values())
        for agent in self._living:
            if agent not in owned:
                min(runners, key=lambda conn: len(conn.agent_ids)).agent_ids.add(agent)
        self._announce_changes(runners, before)

    def _announce_changes(
        self, runners: list[RunnerConnection], before: dict[str, set[str]]
    ) -> None:
        for conn in runners:
            if conn.agent_ids != before[conn.runner_id]:
                self.reassignments += 1
                conn.send(self._assignment_message(conn, before[conn.runner_id]))
                self._send_last_results(conn, conn.agent_ids - before[conn.runner_id])

    def _assignment_message(
        self, conn: RunnerConnection, before: set[str]
    ) -> engine_service_pb2.ConnectResponse:
        return engine_service_pb2.ConnectResponse(
            assignment=engine_service_pb2.Assignment(
                runner_id=conn.runner_id,
                run_id=self.run_id,
                agent_ids=sorted(conn.agent_ids),
                added_agent_ids=sorted(conn.agent_ids - before),
                removed_agent_ids=sorted(before - conn.agent_ids),
                seed=self.seed,
                brain=self.decision_config.brain,
                runner_config_yaml=self.decision_config.runner_config_yaml,
                llm_config_yaml=self.decision_config.llm_config_yaml,
            )
        )

    # ----- the decision window -------------------------------------------------------------
    async def collect(
        self,
        tick: int,
        perceptions: Mapping[str, perception_pb2.Perception | bytes],
        deadline_ms: int,
    ) -> CollectedDecisions:
        """Send perceptions to the runners owning each agent; wait for all answers or the deadline.

        The whole window at once, for perceptions made beforehand; the engine opens the window
        and sends its perceptions batch by batch as it makes them (`open_window`)."""
        window = self.open_window(tick, perceptions, deadline_ms)
        # Runners in turn, a batch each: each starts deciding on its first batch while the
        # others are serialized and sent.
        queues = {runner: list(agents) for runner, agents in window.remaining_by_runner().items()}
        while any(queues.values()):
            for agents in queues.values():
                chunk, agents[:] = agents[:PERCEPTIONS_PER_BATCH], agents[PERCEPTIONS_PER_BATCH:]
                if chunk:
                    window.send({agent: perceptions[agent] for agent in chunk})
            await asyncio.sleep(0)  # let the streams write each round of batches
        unsent = [agent for agent in perceptions if agent not in window.collector.perceptions]
        window.send({agent: perceptions[agent] for agent in unsent})
        return await window.close()

    def open_window(self, tick: int, agent_ids: Iterable[str], deadline_ms: int) -> DecisionWindow:
        """Open tick `tick`'s decision window for the perceived `agent_ids`: each runner is told
        how many perceptions it gets (TickStart); `DecisionWindow.send` then sends them as they
        are made, and `DecisionWindow.close` waits for the answers or the deadline."""
        self.deadline_ms = deadline_ms
        if self._split_pending:
            self.rebalance()  # between windows: runners that joined during the last one get a share
        owner = {
            agent: conn.runner_id for conn in self._runners.values() for agent in conn.agent_ids
        }
        perceived = list(agent_ids)
        if self._runners:
            expected = {agent: owner[agent] for agent in perceived if agent in owner}
            unassigned = sorted(agent for agent in perceived if agent not in owner)
        else:
            # Every runner left before the window opened (while the tick before was stored):
            # the agents are expected of no runner, so the window waits and the next runner to
            # connect is asked for them. Timing them out would make the history depend on when
            # the runners died.
            expected, unassigned = dict.fromkeys(perceived, ""), []
        collector = _TickCollector(
            tick, dict(expected), {}, deadline_ms, time.monotonic() + deadline_ms / 1000
        )
        self._collector = collector
        self._last_tick_started = tick
        deadline_unix_ms = int(time.time() * 1000) + deadline_ms
        counts = {conn.runner_id: 0 for conn in self._runners.values()}
        for runner_id in expected.values():
            if runner_id in counts:
                counts[runner_id] += 1
        for conn in list(self._runners.values()):
            self._send_start(conn, tick, counts[conn.runner_id], deadline_ms, deadline_unix_ms)
            collector.started_runners.add(conn.runner_id)
        return DecisionWindow(self, collector, unassigned, counts, time.perf_counter())

    def _send_batches(
        self, window: DecisionWindow, payloads: Mapping[str, perception_pb2.Perception | bytes]
    ) -> None:
        """The perceptions in `payloads`, to the runner that owns each this window (at most
        PERCEPTIONS_PER_BATCH a message); those of a runner that left go to their new runner
        (or wait for one)."""
        collector = window.collector
        batches: dict[str, list[bytes]] = {}
        for agent, payload in payloads.items():
            data = payload if isinstance(payload, bytes) else payload.SerializeToString()
            # Kept for the rest of the window: an agent whose runner leaves is sent again.
            collector.perceptions[agent] = data
            runner_id = collector.expected.get(agent)
            if runner_id in window.unsent:
                batches.setdefault(runner_id, []).append(data)
        for runner_id, batch in batches.items():
            conn = self._runners.get(runner_id)
            for start in range(0, len(batch), PERCEPTIONS_PER_BATCH):
                chunk = batch[start : start + PERCEPTIONS_PER_BATCH]
                window.unsent[runner_id] -= len(chunk)
                if conn is not None:
                    last = window.unsent[runner_id] <= 0
                    conn.send(perception_batch_message(collector.tick, chunk, last))
        # A runner that left while the batches went out: its agents go to the others now.
        self._resend_orphans(collector)

    async def _close_window(self, window: DecisionWindow) -> CollectedDecisions:
        collector = window.collector
        for runner_id, unsent in window.unsent.items():
            conn = self._runners.get(runner_id)
            if unsent > 0 and conn is not None:
                # Fewer perceptions than announced (an agent of the window was never sent):
                # the runner still gets its closing batch.
                conn.send(perception_batch_message(collector.tick, [], last=True))
                window.unsent[runner_id] = 0
        self._resend_orphans(collector)
        collector.check_done()
        await self._wait_for_window(collector)
        self._collector = None
        timed_out = sorted(a for a in collector.expected if a not in collector.received)
        metrics.ENGINE_DECISION_TIMEOUTS.inc(len(timed_out) + len(window.unassigned))
        return CollectedDecisions(
            decisions=dict(collector.received),
            arrival_order=list(collector.order),
            timed_out=timed_out,
            unassigned=window.unassigned,
            wait_ms=(time.perf_counter() - window.opened) * 1000,
        )

    async def _wait_for_window(self, collector: _TickCollector) -> None:
        """Until every answer is in or the deadline passes; with no runner at all the deadline
        waits too (agents must not starve because nobody is connected)."""
        held = False
        while not collector.done.is_set():
            remaining = collector.deadline_monotonic - time.monotonic()
            if remaining <= 0:
                if self._runners or self.stop_holding:
                    break
                if not held:
                    log.warning(
                        "tick %d held: no runner is connected; waiting for one", collector.tick
                    )
                    held = True
                    if self.on_window_held is not None:
                        self.on_window_held(collector.tick, True)
                remaining = 0.5
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(collector.done.wait(), remaining)
        if held and self.on_window_held is not None:
            self.on_window_held(collector.tick, False)

    @staticmethod
    def _send_start(
        conn: RunnerConnection, tick: int, count: int, deadline_ms: int, deadline_unix_ms: int
    ) -> None:
        conn.send(
            engine_service_pb2.ConnectResponse(
                tick_start=engine_service_pb2.TickStart(
                    tick=tick,
                    deadline_unix_ms=deadline_unix_ms,
                    deadline_ms=deadline_ms,
                    expected_perceptions=count,
                )
            )
        )

    def _send_tick(
        self,
        conn: RunnerConnection,
        tick: int,
        perceptions: list[bytes],
        deadline_ms: int,
        deadline_unix_ms: int,
        *,
        start: bool = True,
    ) -> None:
        """Perceptions serialized before (an agent asked again of another runner)."""
        if start:
            self._send_start(conn, tick, len(perceptions), deadline_ms, deadline_unix_ms)
        chunks = [
            perceptions[i : i + PERCEPTIONS_PER_BATCH]
            for i in range(0, len(perceptions), PERCEPTIONS_PER_BATCH)
        ] or [[]]
        for index, chunk in enumerate(chunks):
            conn.send(perception_batch_message(tick, chunk, last=index == len(chunks) - 1))

    def remember_results(self, tick: int, results_by_agent: Mapping[str, object]) -> None:
        """The results of the last committed tick (a resumed engine's, from its replay)."""
        self._last_results = (tick, results_by_agent)

    def _send_last_results(self, conn: RunnerConnection, added: set[str]) -> None:
        """A runner taking agents over gets their last results again: the runner they left may
        have died before it learnt them (runners learn each result once, so a repeat is harmless)."""
        if self._last_results is None or not added:
            return
        tick, results_by_agent = self._last_results
        results = [results_by_agent[a] for a in sorted(added) if a in results_by_agent]
        if results:
            conn.send(
                engine_service_pb2.ConnectResponse(
                    results=engine_service_pb2.ResultBatch(tick=tick, results=results)  # type: ignore[arg-type]
                )
            )

    def finish_tick(
        self, tick: int, results_by_agent: Mapping[str, object], summary: run_pb2.TickSummary
    ) -> None:
        """Send each runner the results of its agents, then TickEnd."""
        self._last_results = (tick, results_by_agent)
        for conn in list(self._runners.values()):
            results = [results_by_agent[a] for a in sorted(conn.agent_ids) if a in results_by_agent]
            conn.send(
                engine_service_pb2.ConnectResponse(
                    results=engine_service_pb2.ResultBatch(tick=tick, results=results)  # type: ignore[arg-type]
                )
            )
            conn.send(
                engine_service_pb2.ConnectResponse(
                    tick_end=engine_service_pb2.TickEnd(tick=tick, summary=summary)
                )
            )

    def end_run(self, reason: int, final_tick: int) -> None:
        self.ended = True
        for conn in list(self._runners.values()):
            conn.send(
                engine_service_pb2.ConnectResponse(
                    run_ended=engine_service_pb2.RunEnded(
                        run_id=self.run_id,
                        reason=reason,  # type: ignore[arg-type]
                        final_tick=final_tick,
                    )
                )
            )
            conn.outgoing.put_nowait(None)
