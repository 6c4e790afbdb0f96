"""The imperative shell around the pure world core: one tick, end to end, and the run loop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from google.protobuf import timestamp_pb2

from emergence.history import HistoryHasher
from emergence.history import event_payloads as event_payloads_of
from emergence.mesh import metrics
from emergence.mesh.errors import AlreadyExists
from emergence.mesh.ids import derive_rng, positional_id
from emergence.v1 import action_pb2, common_pb2, event_pb2, run_pb2
from engine.adapters import convert
from engine.adapters.bus import EventBus
from engine.adapters.event_store import EventStore, TickRecord
from engine.adapters.hot_state import HotState
from engine.adapters.ledger_client import LedgerClient
from engine.adapters.runner_hub import (
    PERCEPTIONS_PER_BATCH,
    CollectedDecisions,
    DecisionWindow,
    RunnerHub,
)
from engine.adapters.summary import build_summary
from engine.constructs import ConstructDetector
from engine.core import tick as core_tick
from engine.core.copying import copy_world
from engine.core.entries import Entry
from engine.core.events import DomainEvent
from engine.core.state import WorldState
from engine.core.world_events import apply_world_event
from engine.holding import HoldAbandoned, Holder, Outage
from engine.snapshot import deserialize_state, serialize_state

log = logging.getLogger("emergence.engine")


# A window's perceptions go out in about this many rounds of batches, one batch per runner a
# round: the runners start on the first while the engine makes the rest.
ROUNDS_PER_WINDOW = 4
SMALLEST_ROUND = 10
# Perceptions converted between two turns given to the rest of the engine's thread while the
# tick before is not yet stored (its write's end, the results sent to the runners and the
# window's opening each wait for a turn).
TURN_EVERY_WHILE_STORING = 10


@dataclass
class SimulationOptions:
    decision_deadline_ms: int = 8000
    tick_interval_ms: int = 0
    snapshot_every_ticks: int = 100
    max_ticks: int = 1000
    time_limit_seconds: int = 86_400
    stop_on_extinction: bool = True
    # Persist tick T while tick T+1 wakes and perceives (ADR 0020); off, each tick is wholly
    # persisted before the next one starts.
    overlap_persistence: bool = True


@dataclass
class TickReport:
    summary: run_pb2.TickSummary
    history_hash: str
    ended: run_pb2.EndReason.ValueType = run_pb2.END_REASON_UNSPECIFIED


@dataclass
class PreparedTick:
    """A tick computed on a copy of the world, kept until it is committed (retried as it is)."""

    tick: int
    state: WorldState
    domain_events: list[DomainEvent]
    domain_entries: list[Entry]
    decisions: list[run_pb2.Decision]
    results: Mapping[str, object]
    timings: dict[str, float]
    operator_events: list[event_pb2.Event]
    construct_events: list[event_pb2.Event]
    snapshot: bool
    ending: run_pb2.EndReason.ValueType = run_pb2.END_REASON_UNSPECIFIED
    # The run's first tick (tick 0, or a fork's fork tick): committed like any other, but not a
    # stepped tick, so the tick metrics leave it out.
    genesis: bool = False


@dataclass
class Persisting:
    """A tick whose history write, hot state and bus run while the next tick is prepared.

    The world in memory has moved on to it; `previous` is what to put back if its history write
    fails, so that the same tick is committed again and the next one is never written first."""

    prepared: PreparedTick
    record: TickRecord
    started: float
    previous: tuple[WorldState, HistoryHasher, dict[str, action_pb2.ActionResult]]
    anomalies: list[LedgerAnomalyView]
    anomaly_events: int
    outage_alerts: int
    stored: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


def clone_state(state: WorldState) -> WorldState:
    """A copy of the world for the next tick to work on (in memory only, never stored); what no
    rule changes in place is shared (engine.core.copying)."""
    return copy_world(state)


@dataclass
class Simulation:
    run: run_pb2.Run
    state: WorldState
    store: EventStore
    ledger: LedgerClient
    hub: RunnerHub
    bus: EventBus
    hot_state: HotState
    options: SimulationOptions
    hasher: HistoryHasher = field(default_factory=HistoryHasher)
    paused: asyncio.Event = field(default_factory=asyncio.Event)
    resumed: asyncio.Event = field(default_factory=asyncio.Event)
    stop_requested: str = ""
    pending_operator_events: list[event_pb2.Event] = field(default_factory=list)
    started_monotonic: float = field(default_factory=time.monotonic)
    on_tick: Callable[[TickReport], None] | None = None
    # Called once the ended run is stored (the engine process writes the run's report there).
    on_finish: Callable[[run_pb2.Run], Awaitable[None]] | None = None
    constructs: ConstructDetector = field(default_factory=ConstructDetector)

    def __post_init__(self) -> None:
        self.events_written = 0
        self.alerts_this_tick = 0
        self.ledger_diverged = False
        self.ledger_anomaly_events = 0
        # The last committed tick's whole commit, stored in the next tick's summary.
        self.previous_persist_ms = 0.0
        # The last tick's results as sent to the runners: the next perceptions carry them again.
        self.result_protos: dict[str, action_pb2.ActionResult] = {}
        self._prepared: PreparedTick | None = None
        # The committed tick still being persisted (see `Persisting`), if any; only while
        # `overlapping` (the run loop) does a step return before its tick is persisted.
        self._persisting: Persisting | None = None
        self.overlapping = False
        self._run_record_lock = asyncio.Lock()
        self._window_outage: Outage | None = None
        self.hub.on_window_held = self._on_window_held
        self._background: set[asyncio.Task[None]] = set()
        # Outages healed since the last commit: stored with the next tick as alerts.
        self.outage_alerts: list[run_pb2.Alert] = []
        self.holder = Holder(
            on_hold=self._on_hold,
            on_heal=self._on_heal,
            should_stop=lambda: bool(self.stop_requested),
        )

    # ----- genesis ---------------------------------------------------------------------------
    async def genesis(self, events: list[DomainEvent], entries: list[Entry]) -> TickReport:
        """The run's first tick committed like any other: tick 0 (node stocks as regeneration,
        agents born), or a fork's fork tick (its books opened with the parent's holdings)."""
        self.run.status = run_pb2.RUN_STATUS_RUNNING
        self.run.started_at.GetCurrentTime()
        self.run.start_tick = self.state.tick
        await self.holder.until_done("store", self.state.tick, self.save_run_record)
        prepared = PreparedTick(
            tick=self.state.tick,
            state=self.state,
            domain_events=events,
            domain_entries=entries,
            decisions=[],
            results={},
            timings={},
            operator_events=[],
            construct_events=self.constructs.observe(self.state, self.state.tick, events),
            snapshot=True,
            genesis=True,
        )
        report = await self._commit(prepared)
        await self.settle()
        return report

    # ----- one tick --------------------------------------------------------------------------
    async def step(self) -> TickReport:
        """Compute the next tick on a copy of the world (once) and commit it (until it holds).

        A tick that failed to commit stays prepared: the next call retries that very tick, so a
        step can never write tick N+1 while tick N is missing. Called on its own, a step returns
        once its tick is stored and published. Inside `run_until_end` it returns once the tick
        is committed to the ledger and assembled: the history write, hot state and bus go on
        while the next tick wakes and perceives; the next tick's decisions wait for the history
        write (runners learn only stored results) and its commit for the whole persistence, and
        a failed history write puts the world back so that the same tick is committed again.
        """
        if self._prepared is None:
            self._prepared = await self._prepare()
        prepared = self._prepared
        report = await self._commit(prepared)
        self._prepared = None
        if not self.overlapping:
            await self.settle()
        return report

    async def _prepare(self) -> PreparedTick:
        if self.state.living_agent_ids():
            await self._wait_for_runners(self.state.tick + 1)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        state = clone_state(self.state)
        wake = core_tick.wake(state)
        tick = state.tick
        # Operator actions that arrive later in this tick belong to the next one (replay needs that).
        operator_events, self.pending_operator_events = self.pending_operator_events, []
        injected = apply_injected_events(state, operator_events)
        timings["wake_ms"] = (time.perf_counter() - started) * 1000

        started = time.perf_counter()
        perceptions = core_tick.perceive(state)
        try:
            collected, perceive_ms, decide_ms = await self._perceive_and_collect(
                state, perceptions, started
            )
        except BaseException:
            # The tick before is committed again first; this one starts over after it.
            self.pending_operator_events[:0] = operator_events
            raise
        timings["perceive_ms"] = perceive_ms
        # The window opens once the tick before is history: its wait for that write counts
        # too, as does the time given to the rest of the engine's thread while perceiving.
        timings["decide_ms"] = decide_ms

        started = time.perf_counter()
        decisions = dict(collected.decisions)
        for agent_id in set(perceptions) - set(decisions):
            decisions[agent_id] = timeout_decision(agent_id, tick)
        submissions = order_submissions(state.seed, tick, decisions)
        resolved = core_tick.resolve(state, submissions)
        timings["resolve_ms"] = (time.perf_counter() - started) * 1000
        domain_events = [*wake.events, *injected.events, *resolved.events]
        return PreparedTick(
            tick=tick,
            state=state,
            domain_events=domain_events,
            domain_entries=[*wake.entries, *injected.entries, *resolved.entries],
            decisions=list(decisions.values()),
            results=resolved.results,
            timings=timings,
            operator_events=operator_events,
            construct_events=self.constructs.observe(state, tick, domain_events),
            snapshot=tick % max(1, self.options.snapshot_every_ticks) == 0,
            # Known before the commit, so the last tick's history itself says the run ended.
            ending=self.end_reason(state),
        )

    async def _perceive_and_collect(
        self, state: WorldState, perceptions: Mapping[str, object], started: float
    ) -> tuple[CollectedDecisions, float, float]:
        """Convert and serialize each perception, and send them batch by batch once the tick
        before is history, so that runners decide on the first batches while the engine makes
        the rest; then wait for the answers. Returns them with the perceive and decide times:
        perceive is the engine's work on perceptions, decide the rest until the window closed
        (the wait for the tick before's history write, the turns given to the rest of the
        engine's thread meanwhile, the wait for the last answers)."""
        results, sightings = self.result_protos, convert.SightingCache()
        order = self._sending_order(list(perceptions))
        # Rounds of at most one full batch per runner, and not so small that messages and the
        # runners' memory saves per batch cost more than the overlap gains.
        largest = PERCEPTIONS_PER_BATCH * max(1, len(self.hub.runner_ids))
        batch = max(SMALLEST_ROUND, min(largest, -(-len(order) // ROUNDS_PER_WINDOW)))
        window: DecisionWindow | None = None
        ready: dict[str, bytes] = {}
        yielded = 0.0
        for count, agent in enumerate(order, start=1):
            # Serialized as soon as it is built, while it is in the processor's cache: the
            # same perceptions serialized afterwards took several times as long.
            ready[agent] = convert.perception_to_proto(
                perceptions[agent],  # type: ignore[arg-type]
                results.get(agent),
                sightings,
            ).SerializeToString()
            if window is None:
                # The tick before is still being stored: the end of its write (results to the
                # runners) needs a turn of this thread, and the window opens only after it.
                if count % TURN_EVERY_WHILE_STORING and len(ready) < batch:
                    continue
                if self._stored():
                    window = self._open_window(state, perceptions)
            elif len(ready) < batch:
                continue
            if window is not None and len(ready) >= batch:
                window.send(ready)
                ready = {}
            # Let the runners' answers in, the batches out and the tick before's persistence on.
            paused = time.perf_counter()
            await asyncio.sleep(0)
            yielded += time.perf_counter() - paused
        perceive_ms = (time.perf_counter() - started - yielded) * 1000
        if window is None:
            await self._until_stored()
            window = self._open_window(state, perceptions)
        window.send(ready)
        collected = await window.close()
        decide_ms = (time.perf_counter() - started) * 1000 - perceive_ms
        return collected, perceive_ms, decide_ms

    def _open_window(self, state: WorldState, perceptions: Mapping[str, object]) -> DecisionWindow:
        self.hub.set_living(state.living_agent_ids())
        self.hub.world = state  # ListAgentsHere answers from the perceived world
        return self.hub.open_window(state.tick, perceptions, self.options.decision_deadline_ms)

    def _sending_order(self, agents: list[str]) -> list[str]:
        """The runners' agents in turn (each runner's in id order), so that every runner gets
        its first batch early; agents of no runner last."""
        owned = self.hub.assignment()
        perceived = set(agents)
        queues = [[agent for agent in mine if agent in perceived] for mine in owned.values()]
        order: list[str] = []
        for index in range(max(map(len, queues), default=0)):
            order.extend(queue[index] for queue in queues if index < len(queue))
        placed = set(order)
        order.extend(agent for agent in agents if agent not in placed)
        return order

    def _stored(self) -> bool:
        """True when no tick is being persisted or its history write is done."""
        persisting = self._persisting
        return persisting is None or persisting.stored.is_set()

    async def _wait_for_runners(self, tick: int) -> None:
        """No runner connected: hold the tick (nobody may starve for want of a mind) until one is."""
        if self.hub.runner_ids or self.stop_requested:
            return  # the closing tick of a stopped run waits for nobody
        outage = Outage("runners", tick)
        log.warning("tick %d held: no runner is connected; waiting for one", tick)
        while not self.hub.runner_ids:
            outage.retries += 1
            outage.last_error = "no runner connected"
            self._on_hold(outage)
            if self.stop_requested:
                raise HoldAbandoned(f"stopped while waiting for a runner at tick {tick}")
            await self.hub.wait_for_runners(1, timeout_seconds=1.0)
        self._on_heal(outage)

    async def _commit(self, prepared: PreparedTick) -> TickReport:
        """Ledger, then (in `_persist`, while the next tick is prepared) the history transaction
        with its outbox row, the runners' results, hot state and bus.

        The tick before must be wholly persisted first. Each step is retried through transient
        outages; the outbox drains whatever a crash left unpublished.
        """
        await self.settle()
        started = time.perf_counter()
        state, tick = prepared.state, prepared.tick
        entries = [convert.entry_to_proto(entry, tick) for entry in prepared.domain_entries]
        engine_digest = convert.engine_digest(state)
        reply = await self.holder.until_done(
            "ledger",
            tick,
            lambda: self.ledger.commit_tick(
                self.run.id,
                tick,
                entries,
                engine_digest,
                final=prepared.ending != run_pb2.END_REASON_UNSPECIFIED,
            ),
        )
        self.alerts_this_tick = 0
        failed = bool(reply.rejections)
        anomalies = ledger_anomalies(reply)
        alerts, anomaly_events = self._ledger_alerts(state, tick, anomalies, engine_digest, reply)
        alerts.extend(self._alerts_from_decisions(tick, prepared.decisions))
        ending = run_pb2.END_REASON_ERROR if failed else prepared.ending
        shell_events = [
            *anomaly_events,
            *prepared.construct_events,
            *(alert_event(alert) for alert in alerts),
        ]
        if ending != run_pb2.END_REASON_UNSPECIFIED:
            shell_events.append(ended_event(ending, tick))
        events = assemble_events(
            state,
            self.run.id,
            tick,
            prepared.domain_events,
            prepared.operator_events,
            shell_events,
            reply.ledger_digest,
        )
        # Each event serialized once: the hash, the store and the bus share the bytes.
        canonical_payloads, event_payloads = event_payloads_of(events)
        history_hash = HistoryHasher(self.hasher.hexdigest).add_payloads(canonical_payloads)
        # Outages are facts about the machinery, not the world: stored and published as alerts,
        # never as events, so a healed run has the same history hash as one that was never held.
        outage_alerts = list(self.outage_alerts)
        timings = {
            **prepared.timings,
            "persist_ms": (time.perf_counter() - started) * 1000,
            "previous_persist_ms": self.previous_persist_ms,
        }
        summary = build_summary(
            self.run.id,
            state,
            events,
            prepared.decisions,
            [*alerts, *outage_alerts],
            timings,
            reply.ledger_digest,
        )
        record = TickRecord(
            run_id=self.run.id,
            tick=tick,
            events=events,
            decisions=prepared.decisions,
            summary=summary,
            history_hash=history_hash,
            ledger_digest=reply.ledger_digest,
            alerts=[*alerts, *outage_alerts],
            snapshot=serialize_state(state) if prepared.snapshot else None,
            event_payloads=event_payloads,
        )
        persisting = Persisting(
            prepared=prepared,
            record=record,
            started=started,
            previous=(self.state, self.hasher, self.result_protos),
            anomalies=anomalies,
            anomaly_events=len(anomaly_events),
            outage_alerts=len(outage_alerts),
        )
        # The world in memory moves on now; `settle` puts it back if the history write fails.
        # The run record (what clients read) says this tick only once it is history.
        self.state = state
        self.hasher = HistoryHasher(history_hash)
        self.result_protos = {a: convert.result_to_proto(r) for a, r in prepared.results.items()}
        persisting.task = asyncio.create_task(self._persist(persisting))
        self._persisting = persisting
        # One turn now, so the history write is under way (its thread started, its first
        # statement sent) before the next tick's wake and perception hold this thread.
        await asyncio.sleep(0)
        report = TickReport(summary, history_hash)
        report.ended = ending
        if failed:
            log.error("ledger refused tick %d: %s", tick, reply.rejections[0].message)
        return report

    async def _persist(self, persisting: Persisting) -> None:
        """The history transaction, then the runners learn the results, then hot state and bus."""
        record, tick = persisting.record, persisting.record.tick
        with metrics.ENGINE_STORE_SECONDS.labels("tick").time():
            await self.holder.until_done("store", tick, lambda: self._write_tick_once(record))
        self.run.current_tick = tick
        self.run.history_hash = record.history_hash
        self.outage_alerts = self.outage_alerts[persisting.outage_alerts :]
        self.ledger_diverged = any(a.code == "DIGEST_MISMATCH" for a in persisting.anomalies)
        self.ledger_anomaly_events += persisting.anomaly_events
        self.events_written += len(record.events)
        self.hub.finish_tick(tick, self.result_protos, record.summary)
        persisting.stored.set()
        await self.holder.until_done(
            "hot_state",
            tick,
            lambda: self.hot_state.write_tick(
                self.run.id, tick, record.summary.SerializeToString(), {}, record.snapshot or b""
            ),
        )
        await self._publish(record.summary, record.events, record.alerts, record.event_payloads)
        self.previous_persist_ms = (time.perf_counter() - persisting.started) * 1000
        # The metrics get the whole commit; the stored summary could only hold its first part.
        # Genesis is not a stepped tick: counting it would make the tick counter one more than
        # the ticks run and put a persist-only tick in the duration histogram.
        if not persisting.prepared.genesis:
            timings = {**persisting.prepared.timings, "persist_ms": self.previous_persist_ms}
            metrics.observe_tick_timings(timings)

    async def _until_stored(self) -> None:
        """Until the tick being persisted is history (its results are then with the runners)."""
        persisting = self._persisting
        if persisting is None or persisting.stored.is_set():
            return
        assert persisting.task is not None
        stored = asyncio.ensure_future(persisting.stored.wait())
        try:
            await asyncio.wait({stored, persisting.task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stored.cancel()
        if not persisting.stored.is_set():
            await self.settle()  # it failed: raises, with the world put back

    async def settle(self) -> None:
        """Until the committed tick is wholly persisted. If its history write failed, the world
        in memory goes back to the tick before and the failed tick is prepared again, to be
        committed as it is by the next step; the error is raised."""
        persisting, self._persisting = self._persisting, None
        if persisting is None:
            return
        assert persisting.task is not None
        try:
            await persisting.task
        except BaseException:
            if not persisting.stored.is_set():
                self.state, self.hasher, self.result_protos = persisting.previous
                self._prepared = persisting.prepared
            raise

    async def stop_persisting(self) -> None:
        """Cancel a persistence still running (the engine is closing its stores)."""
        persisting, self._persisting = self._persisting, None
        if persisting is not None and persisting.task is not None:
            persisting.task.cancel()
            with contextlib.suppress(BaseException):
                await persisting.task

    def _ledger_alerts(
        self,
        state: WorldState,
        tick: int,
        anomalies: list[LedgerAnomalyView],
        engine_digest: str,
        reply: object,
    ) -> tuple[list[run_pb2.Alert], list[event_pb2.Event]]:
        alerts: list[run_pb2.Alert] = []
        anomaly_events: list[event_pb2.Event] = []
        ledger_digest = str(reply.ledger_digest)  # type: ignore[attr-defined]
        for anomaly in anomalies:
            # Once the books disagree, every later digest disagrees too: each tick still records
            # its event, but only the first mismatch raises an alert.
            repeated = anomaly.code == "DIGEST_MISMATCH" and self.ledger_diverged
            if not repeated:
                alerts.append(
                    self._alert(
                        tick,
                        event_pb2.ALERT_KIND_LEDGER_ANOMALY,
                        event_pb2.ALERT_SEVERITY_CRITICAL,
                        anomaly.message,
                    )
                )
            anomaly_events.append(
                self._ledger_anomaly_event(tick, anomaly, engine_digest, ledger_digest)
            )
        return alerts, anomaly_events

    async def _write_tick_once(self, record: TickRecord) -> None:
        try:
            await self.store.write_tick(record)
        except AlreadyExists:
            # A commit whose reply was lost (the connection died after COMMIT) is already there.
            rows = await self.store.tick_rows(record.run_id, record.tick)
            if rows and rows[0].tick == record.tick and rows[0].history_hash == record.history_hash:
                return
            raise

    async def _publish(
        self,
        summary: run_pb2.TickSummary,
        events: list[event_pb2.Event],
        alerts: list[run_pb2.Alert],
        event_payloads: list[bytes] | None = None,
    ) -> None:
        """On the bus (held while NATS is away), then out of the outbox (held while the store is)."""
        tick = int(summary.tick)
        with metrics.ENGINE_BUS_SECONDS.time():
            await self.holder.until_done(
                "bus",
                tick,
                functools.partial(self.bus.publish_tick, summary, events, alerts, event_payloads),
            )
        await self.holder.until_done(
            "store", tick, functools.partial(self.store.mark_published, summary.run_id, tick)
        )

    async def drain_outbox(self) -> int:
        """Publish the committed ticks a crash left unpublished (JetStream drops the repeats)."""
        ticks = await self.store.unpublished_ticks(self.run.id)
        for tick in ticks:
            rows = await self.store.tick_rows(self.run.id, tick)
            if not rows or rows[0].tick != tick:
                continue
            events = await self.store.events(self.run.id, tick, tick)
            alerts = [a for a in await self.store.alerts(self.run.id, tick) if a.tick == tick]
            await self._publish(rows[0].summary, events, alerts)
        return len(ticks)

    # ----- outages -----------------------------------------------------------------------------
    async def save_run_record(self) -> None:
        """Store the run record; one write at a time, each of the record as it is then, so a late
        write never puts back an older status."""
        async with self._run_record_lock:
            await self.store.save_run(self.run)

    def _report_in_run_record(self) -> None:
        """Best effort, in the background: a hold shows in the stored run (`held_by`) for the
        control plane and the Observer, unless the store is what is down."""

        async def save() -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.save_run_record(), timeout=5)

        task = asyncio.create_task(save())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _on_hold(self, outage: Outage) -> None:
        metrics.ENGINE_RETRIES.labels(outage.service).inc()
        self.run.held_by = f"{outage.service}: {outage.last_error}"[:200]
        if outage.retries == 1:
            self._report_in_run_record()
        if outage.retries == 1 or outage.retries % 20 == 0:
            log.warning(
                "tick %d held for %.1f s: %s unavailable (%s); retrying",
                outage.tick,
                outage.seconds,
                outage.service,
                outage.last_error,
            )

    def _on_window_held(self, tick: int, held: bool) -> None:
        """The runners left in the middle of a decision window, which now waits for one."""
        if held:
            self._window_outage = Outage(
                "runners", tick, retries=1, last_error="no runner connected"
            )
            self._on_hold(self._window_outage)
        elif self._window_outage is not None:
            self._on_heal(self._window_outage)
            self._window_outage = None

    def _on_heal(self, outage: Outage) -> None:
        self.run.held_by = ""
        self._report_in_run_record()
        message = (
            f"{outage.service} unavailable for {outage.seconds:.1f} s at tick {outage.tick} "
            f"({outage.retries} retries): {outage.last_error}"
        )[:500]
        log.warning("%s; the run goes on", message)
        self.outage_alerts.append(
            run_pb2.Alert(
                id=positional_id(self.state.seed, "outage", outage.tick, len(self.outage_alerts)),
                run_id=self.run.id,
                tick=outage.tick,
                kind=event_pb2.ALERT_KIND_SERVICE_OUTAGE,
                severity=event_pb2.ALERT_SEVERITY_WARNING,
                message=message,
            )
        )

    def _alert(
        self, tick: int, kind: int, severity: int, message: str, agent_id: str = "", text: str = ""
    ) -> run_pb2.Alert:
        self.alerts_this_tick += 1
        return run_pb2.Alert(
            id=positional_id(self.state.seed, "alert", tick, self.alerts_this_tick),
            run_id=self.run.id,
            tick=tick,
            kind=kind,  # type: ignore[arg-type]
            severity=severity,  # type: ignore[arg-type]
            message=message,
            agent_id=agent_id,
            text=text,
        )

    def _ledger_anomaly_event(
        self, tick: int, anomaly: LedgerAnomalyView, engine_digest: str, ledger_digest: str
    ) -> event_pb2.Event:
        return event_pb2.Event(
            type=event_pb2.EVENT_TYPE_LEDGER_ANOMALY,
            ledger_anomaly=event_pb2.LedgerAnomalyDetails(
                code=anomaly.code,
                message=anomaly.message,
                resource=anomaly.resource,  # type: ignore[arg-type]
                expected=anomaly.expected,
                actual=anomaly.actual,
                engine_digest=engine_digest,
                ledger_digest=ledger_digest,
            ),
        )

    def _alerts_from_decisions(
        self, tick: int, decisions: list[run_pb2.Decision]
    ) -> list[run_pb2.Alert]:
        alerts = []
        for decision in decisions:
            if decision.record.containment_flags:
                flags = ", ".join(decision.record.containment_flags)
                # The runner names the text that matched (it may be the reasoning, not the act).
                text = decision.record.containment_text or agent_text(decision.action)
                alerts.append(
                    self._alert(
                        tick,
                        event_pb2.ALERT_KIND_ESCAPE_ATTEMPT,
                        event_pb2.ALERT_SEVERITY_WARNING,
                        f"agent text matched containment patterns: {flags}",
                        agent_id=decision.agent_id,
                        text=text[:2000],
                    )
                )
        return alerts

    def pause(self) -> None:
        self.resumed.clear()
        self.paused.set()

    def resume(self) -> None:
        self.paused.clear()
        self.resumed.set()

    def request_stop(self, reason: str) -> None:
        """End after the tick in progress (never half a tick); wakes a paused loop."""
        self.stop_requested = reason
        self.hub.stop_holding = True
        self.resume()

    async def snapshot_now(self) -> int:
        await self.settle()
        tick = self.state.tick
        await self.store.save_snapshot(self.run.id, tick, serialize_state(self.state))
        return tick

    # ----- the loop --------------------------------------------------------------------------
    def end_reason(self, state: WorldState | None = None) -> run_pb2.EndReason.ValueType:
        state = self.state if state is None else state
        if self.stop_requested:
            return run_pb2.END_REASON_MANUAL
        if self.options.max_ticks and state.tick >= self.options.max_ticks:
            return run_pb2.END_REASON_MAX_TICKS
        if self.options.stop_on_extinction and not state.living_agent_ids():
            return run_pb2.END_REASON_EXTINCTION
        if time.monotonic() - self.started_monotonic >= self.options.time_limit_seconds:
            return run_pb2.END_REASON_TIME_LIMIT
        return run_pb2.END_REASON_UNSPECIFIED

    async def run_until_end(self) -> run_pb2.EndReason.ValueType:
        """Tick until an end condition; transient outages are held inside `step`.

        Stopped while holding a tick for an outage, the run is left as it is (RUNNING, its last
        tick committed) so that the engine started again resumes it; any other error propagates
        for the host to mark the run FAILED.
        """
        self.overlapping = self.options.overlap_persistence
        try:
            return await self._run_until_end()
        finally:
            self.overlapping = False

    async def _run_until_end(self) -> run_pb2.EndReason.ValueType:
        await self.drain_outbox()
        while True:
            reason = self.end_reason()
            if reason == run_pb2.END_REASON_MANUAL:
                # Asked to stop between ticks (or while paused): one closing tick records
                # SimulationEnded, so the history itself says how the run ended.
                report = await self.step()
                if self.on_tick is not None:
                    self.on_tick(report)
                reason = report.ended
                break
            if reason != run_pb2.END_REASON_UNSPECIFIED:
                break
            if self.paused.is_set():
                await self.settle()
                await self.resumed.wait()
                continue
            started = time.perf_counter()
            try:
                report = await self.step()
            except HoldAbandoned as error:
                with contextlib.suppress(HoldAbandoned):
                    await self.settle()  # the tick before, still being persisted, first
                if self._prepared is not None:
                    log.warning("%s; the run stays resumable at tick %d", error, self.state.tick)
                    return run_pb2.END_REASON_UNSPECIFIED
                continue  # nothing half done: the stop request ends the run below
            if self.on_tick is not None:
                self.on_tick(report)
            if report.ended != run_pb2.END_REASON_UNSPECIFIED:
                reason = report.ended
                break
            if self.options.tick_interval_ms:
                remaining = self.options.tick_interval_ms / 1000 - (time.perf_counter() - started)
                if remaining > 0:
                    await asyncio.sleep(remaining)
        try:
            await self.finish(reason)
        except HoldAbandoned as error:
            log.warning("%s; the run stays resumable at tick %d", error, self.state.tick)
            return run_pb2.END_REASON_UNSPECIFIED
        return reason

    async def finish(self, reason: run_pb2.EndReason.ValueType) -> None:
        await self.settle()
        tick = self.state.tick
        snapshot = serialize_state(self.state)
        await self.holder.until_done(
            "store", tick, lambda: self.store.save_snapshot(self.run.id, tick, snapshot)
        )
        self.run.status = (
            run_pb2.RUN_STATUS_FAILED
            if reason == run_pb2.END_REASON_ERROR
            else run_pb2.RUN_STATUS_COMPLETED
        )
        self.run.end_reason = reason
        self.run.current_tick = tick
        self.run.ended_at.GetCurrentTime()
        await self.holder.until_done("store", tick, self.save_run_record)
        self.hub.end_run(reason, tick)
        if self.on_finish is not None:
            await self.on_finish(self.run)


@dataclass(frozen=True)
class LedgerAnomalyView:
    code: str
    message: str
    resource: int = 0
    expected: int = 0
    actual: int = 0


def ledger_anomalies(reply: object) -> list[LedgerAnomalyView]:
    """Rejections (an engine bug the ledger caught) and anomalies (digest mismatch, conservation)."""
    views = [
        LedgerAnomalyView(
            code=f"REJECTED_{ledger_rejection_name(r.code)}",
            message=f"ledger refused the tick: entries[{r.entry_index}].{r.field}: {r.message}",
        )
        for r in reply.rejections  # type: ignore[attr-defined]
    ]
    views.extend(
        LedgerAnomalyView(a.code, a.message, a.resource, a.expected, a.actual)
        for a in reply.anomalies  # type: ignore[attr-defined]
    )
    return views


def ledger_rejection_name(code: int) -> str:
    from emergence.v1 import ledger_pb2

    return ledger_pb2.LedgerRejectionCode.Name(code).removeprefix("LEDGER_REJECTION_CODE_")  # type: ignore[arg-type]


INJECT_ACTION = "inject_event"


def apply_injected_events(
    state: WorldState, operator_events: list[event_pb2.Event]
) -> core_tick.PhaseOutcome:
    """World events the operator injected for this tick, applied right after wake (and on replay)."""
    events: list[DomainEvent] = []
    entries: list[Entry] = []
    for event in operator_events:
        details = event.operator_action
        if event.type != event_pb2.EVENT_TYPE_OPERATOR_ACTION or details.action != INJECT_ACTION:
            continue
        parameters = dict(details.parameters)
        kind = parameters.pop("kind")
        outcome = apply_world_event(state, kind, parameters)
        events.extend(outcome.events)
        entries.extend(outcome.entries)
    return core_tick.PhaseOutcome(events, entries, {})


def assemble_events(
    state: WorldState,
    run_id: str,
    tick: int,
    domain_events: list[DomainEvent],
    operator_events: list[event_pb2.Event],
    shell_events: list[event_pb2.Event],
    ledger_digest: str,
) -> list[event_pb2.Event]:
    """A tick's history in order: TickStart, operator actions (a pause or resume followed by its
    SimulationPaused or SimulationResumed), world and action events, the shell's own facts
    (ledger anomalies, social constructs, alerts, SimulationEnded), TickEnd."""
    context = convert.world_context(state)
    now = timestamp_pb2.Timestamp()
    now.GetCurrentTime()
    start = event_pb2.Event(
        type=event_pb2.EVENT_TYPE_TICK_START,
        tick_start=event_pb2.TickStartDetails(
            season=context.season, weather=context.weather, time_of_day=context.time_of_day
        ),
    )
    body = [convert.event_to_proto(event, state, tick) for event in domain_events]
    operator = [copy for event in operator_events for copy in with_lifecycle(event)]
    events = [start, *operator, *body, *shell_events]
    events.append(
        event_pb2.Event(
            type=event_pb2.EVENT_TYPE_TICK_END,
            tick_end=event_pb2.TickEndDetails(
                events=len(events) + 1, ledger_digest=ledger_digest, population=context.population
            ),
        )
    )
    for sequence, event in enumerate(events):
        event.id = positional_id(state.seed, "event", tick, sequence)
        event.run_id = run_id
        event.tick = tick
        event.sequence = sequence
        if not event.HasField("context"):
            event.context.CopyFrom(context)
        event.real_time.CopyFrom(now)
    return events


# Facts of the shell, not of the world rules: replay takes them from the stored history.
SHELL_EVENT_TYPES = (
    event_pb2.EVENT_TYPE_LEDGER_ANOMALY,
    event_pb2.EVENT_TYPE_SOCIAL_CONSTRUCT_FORMED,
    event_pb2.EVENT_TYPE_SOCIAL_CONSTRUCT_DISBANDED,
    event_pb2.EVENT_TYPE_ALERT_RAISED,
    event_pb2.EVENT_TYPE_SIMULATION_ENDED,
)
LIFECYCLE_BY_OPERATOR_ACTION = {
    "pause": event_pb2.EVENT_TYPE_SIMULATION_PAUSED,
    "resume": event_pb2.EVENT_TYPE_SIMULATION_RESUMED,
}


def with_lifecycle(operator_event: event_pb2.Event) -> list[event_pb2.Event]:
    """An operator's pause or resume, followed by the SimulationPaused/Resumed it caused."""
    lifecycle = LIFECYCLE_BY_OPERATOR_ACTION.get(operator_event.operator_action.action)
    if lifecycle is None:
        return [operator_event]
    return [
        operator_event,
        event_pb2.Event(type=lifecycle, operator_action=operator_event.operator_action),
    ]


def alert_event(alert: run_pb2.Alert) -> event_pb2.Event:
    return event_pb2.Event(
        type=event_pb2.EVENT_TYPE_ALERT_RAISED,
        agent_id=alert.agent_id,
        alert=event_pb2.AlertDetails(
            kind=alert.kind, severity=alert.severity, message=alert.message, text=alert.text
        ),
    )


def ended_event(reason: run_pb2.EndReason.ValueType, tick: int) -> event_pb2.Event:
    name = run_pb2.EndReason.Name(reason).removeprefix("END_REASON_").lower()
    return event_pb2.Event(
        type=event_pb2.EVENT_TYPE_SIMULATION_ENDED,
        simulation_ended=event_pb2.SimulationEndedDetails(reason=name, final_tick=tick),
    )


def order_submissions(
    seed: int, tick: int, decisions: dict[str, run_pb2.Decision]
) -> list[core_tick.Submission]:
    """All answers inside one decision window count as simultaneous: a seeded shuffle orders them.

    Arrival order over the network is wall-clock noise; using it would make the same seed give a
    different history. Replay rebuilds the same order from the stored decisions.
    """
    agent_ids = sorted(decisions)
    derive_rng(seed, tick, "submission-order").shuffle(agent_ids)
    submissions = []
    for order, agent_id in enumerate(agent_ids):
        decision = decisions[agent_id]
        if decision.record.brain == run_pb2.BRAIN_KIND_ENGINE:
            submissions.append(
                core_tick.Submission(agent_id=agent_id, action=None, order=order, timed_out=True)
            )
        else:
            submissions.append(convert.submission_from_proto(agent_id, decision.action, order))
    return submissions


def timeout_decision(agent_id: str, tick: int) -> run_pb2.Decision:
    return run_pb2.Decision(
        agent_id=agent_id,
        tick=tick,
        action=action_pb2.Action(
            agent_id=agent_id, no_action=action_pb2.NoActionParams(reason="timeout")
        ),
        record=run_pb2.DecisionRecord(brain=run_pb2.BRAIN_KIND_ENGINE, route="timeout"),
    )


def agent_text(action: action_pb2.Action) -> str:
    kind = action.WhichOneof("params")
    if kind is None:
        return ""
    params = getattr(action, kind)
    return str(getattr(params, "text", "") or getattr(params, "terms", ""))


__all__ = [
    "Simulation",
    "SimulationOptions",
    "TickReport",
    "common_pb2",
    "deserialize_state",
    "serialize_state",
]
