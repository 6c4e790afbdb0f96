"""The imperative shell around the pure world core: one tick, end to end, and the run loop."""

from __future__ import annotations

import asyncio
import logging
import pickle
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from google.protobuf import timestamp_pb2

from emergence.history import HistoryHasher
from emergence.mesh import metrics
from emergence.mesh.ids import derive_rng, positional_id
from emergence.v1 import action_pb2, common_pb2, event_pb2, run_pb2
from engine.adapters import convert
from engine.adapters.bus import EventBus
from engine.adapters.event_store import EventStore, TickRecord
from engine.adapters.hot_state import HotState
from engine.adapters.ledger_client import LedgerClient
from engine.adapters.runner_hub import RunnerHub
from engine.adapters.summary import build_summary
from engine.constructs import ConstructDetector
from engine.core import tick as core_tick
from engine.core.entries import Entry
from engine.core.events import DomainEvent
from engine.core.state import WorldState
from engine.core.world_events import apply_world_event

log = logging.getLogger("emergence.engine")


@dataclass
class SimulationOptions:
    decision_deadline_ms: int = 8000
    tick_interval_ms: int = 0
    snapshot_every_ticks: int = 100
    max_ticks: int = 1000
    time_limit_seconds: int = 86_400
    stop_on_extinction: bool = True


@dataclass
class TickReport:
    summary: run_pb2.TickSummary
    history_hash: str
    ended: run_pb2.EndReason.ValueType = run_pb2.END_REASON_UNSPECIFIED


def serialize_state(state: WorldState) -> bytes:
    """Snapshot format: the core state pickled and compressed (restored only by this code)."""
    return zlib.compress(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL), 3)


def deserialize_state(payload: bytes) -> WorldState:
    state = pickle.loads(zlib.decompress(payload))
    assert isinstance(state, WorldState)
    return state


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
    constructs: ConstructDetector = field(default_factory=ConstructDetector)

    def __post_init__(self) -> None:
        self.events_written = 0
        self.alerts_this_tick = 0
        self.ledger_diverged = False
        self.ledger_anomaly_events = 0

    # ----- genesis ---------------------------------------------------------------------------
    async def genesis(self, events: list[DomainEvent], entries: list[Entry]) -> TickReport:
        """Tick 0: the initial world (node stocks as regeneration, agents born) committed like any tick."""
        self.run.status = run_pb2.RUN_STATUS_RUNNING
        self.run.started_at.GetCurrentTime()
        await self.store.save_run(self.run)
        return await self._commit(0, events, entries, [], {}, {}, snapshot=True)

    # ----- one tick --------------------------------------------------------------------------
    async def step(self) -> TickReport:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        wake = core_tick.wake(self.state)
        tick = self.state.tick
        # Operator actions that arrive later in this tick belong to the next one (replay needs that).
        operator_events, self.pending_operator_events = self.pending_operator_events, []
        injected = apply_injected_events(self.state, operator_events)
        timings["wake_ms"] = (time.perf_counter() - started) * 1000

        started = time.perf_counter()
        perceptions = core_tick.perceive(self.state)
        proto_perceptions = {
            agent: convert.perception_to_proto(p) for agent, p in perceptions.items()
        }
        timings["perceive_ms"] = (time.perf_counter() - started) * 1000

        self.hub.set_living(self.state.living_agent_ids())
        collected = await self.hub.collect(
            tick, proto_perceptions, self.options.decision_deadline_ms
        )
        timings["decide_ms"] = collected.wait_ms

        started = time.perf_counter()
        decisions = dict(collected.decisions)
        for agent_id in set(perceptions) - set(decisions):
            decisions[agent_id] = timeout_decision(agent_id, tick)
        submissions = order_submissions(self.state.seed, tick, decisions)
        resolved = core_tick.resolve(self.state, submissions)
        timings["resolve_ms"] = (time.perf_counter() - started) * 1000

        started = time.perf_counter()
        # Known before the commit, so the last tick's history itself says the run ended.
        ending = self.end_reason()
        report = await self._commit(
            tick,
            [*wake.events, *injected.events, *resolved.events],
            [*wake.entries, *injected.entries, *resolved.entries],
            list(decisions.values()),
            resolved.results,
            timings,
            operator_events=operator_events,
            snapshot=tick % max(1, self.options.snapshot_every_ticks) == 0,
            ending=ending,
        )
        report.summary.timings.persist_ms = (time.perf_counter() - started) * 1000
        timings["persist_ms"] = report.summary.timings.persist_ms
        metrics.observe_tick_timings(timings)
        return report

    async def _commit(
        self,
        tick: int,
        domain_events: list[DomainEvent],
        domain_entries: list[Entry],
        decisions: list[run_pb2.Decision],
        results: Mapping[str, object],
        timings: dict[str, float],
        *,
        snapshot: bool,
        operator_events: list[event_pb2.Event] | None = None,
        ending: run_pb2.EndReason.ValueType = run_pb2.END_REASON_UNSPECIFIED,
    ) -> TickReport:
        entries = [convert.entry_to_proto(entry, tick) for entry in domain_entries]
        engine_digest = convert.engine_digest(self.state)
        reply = await self.ledger.commit_tick(self.run.id, tick, entries, engine_digest)
        alerts: list[run_pb2.Alert] = []
        self.alerts_this_tick = 0
        anomaly_events: list[event_pb2.Event] = []
        failed = bool(reply.rejections)
        anomalies = ledger_anomalies(reply)
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
                self._ledger_anomaly_event(tick, anomaly, engine_digest, reply.ledger_digest)
            )
        self.ledger_diverged = any(a.code == "DIGEST_MISMATCH" for a in anomalies)
        self.ledger_anomaly_events += len(anomaly_events)
        alerts.extend(self._alerts_from_decisions(tick, decisions))
        if failed:
            ending = run_pb2.END_REASON_ERROR
        shell_events = [
            *anomaly_events,
            *self.constructs.observe(self.state, tick, domain_events),
            *(alert_event(alert) for alert in alerts),
        ]
        if ending != run_pb2.END_REASON_UNSPECIFIED:
            shell_events.append(ended_event(ending, tick))
        events = assemble_events(
            self.state,
            self.run.id,
            tick,
            domain_events,
            operator_events or [],
            shell_events,
            reply.ledger_digest,
        )
        self.events_written += len(events)
        history_hash = self.hasher.add_tick(events)
        summary = build_summary(
            self.run.id, self.state, events, decisions, alerts, timings, reply.ledger_digest
        )
        record = TickRecord(
            run_id=self.run.id,
            tick=tick,
            events=events,
            decisions=decisions,
            summary=summary,
            history_hash=history_hash,
            ledger_digest=reply.ledger_digest,
            alerts=alerts,
            snapshot=serialize_state(self.state) if snapshot else None,
        )
        await self.store.write_tick(record)
        await self.hot_state.write_tick(
            self.run.id, tick, summary.SerializeToString(), {}, record.snapshot or b""
        )
        await self.bus.publish_tick(summary, events, alerts)
        self.hub.finish_tick(
            tick, {a: convert.result_to_proto(r) for a, r in results.items()}, summary
        )
        self.run.current_tick = tick
        self.run.history_hash = history_hash
        report = TickReport(summary, history_hash)
        report.ended = ending
        if failed:
            log.error("ledger refused tick %d: %s", tick, reply.rejections[0].message)
        return report

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
        self.resume()

    async def snapshot_now(self) -> int:
        tick = self.state.tick
        await self.store.save_snapshot(self.run.id, tick, serialize_state(self.state))
        return tick

    # ----- the loop --------------------------------------------------------------------------
    def end_reason(self) -> run_pb2.EndReason.ValueType:
        if self.stop_requested:
            return run_pb2.END_REASON_MANUAL
        if self.options.max_ticks and self.state.tick >= self.options.max_ticks:
            return run_pb2.END_REASON_MAX_TICKS
        if self.options.stop_on_extinction and not self.state.living_agent_ids():
            return run_pb2.END_REASON_EXTINCTION
        if time.monotonic() - self.started_monotonic >= self.options.time_limit_seconds:
            return run_pb2.END_REASON_TIME_LIMIT
        return run_pb2.END_REASON_UNSPECIFIED

    async def run_until_end(self) -> run_pb2.EndReason.ValueType:
        while True:
            reason = self.end_reason()
            if reason != run_pb2.END_REASON_UNSPECIFIED:
                break
            if self.paused.is_set():
                await self.resumed.wait()
                continue
            started = time.perf_counter()
            report = await self.step()
            if self.on_tick is not None:
                self.on_tick(report)
            if report.ended != run_pb2.END_REASON_UNSPECIFIED:
                reason = report.ended
                break
            if self.options.tick_interval_ms:
                remaining = self.options.tick_interval_ms / 1000 - (time.perf_counter() - started)
                if remaining > 0:
                    await asyncio.sleep(remaining)
        await self.finish(reason)
        return reason

    async def finish(self, reason: run_pb2.EndReason.ValueType) -> None:
        tick = self.state.tick
        await self.store.save_snapshot(self.run.id, tick, serialize_state(self.state))
        self.run.status = (
            run_pb2.RUN_STATUS_FAILED
            if reason == run_pb2.END_REASON_ERROR
            else run_pb2.RUN_STATUS_COMPLETED
        )
        self.run.end_reason = reason
        self.run.current_tick = tick
        self.run.ended_at.GetCurrentTime()
        await self.store.save_run(self.run)
        self.hub.end_run(reason, tick)


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


__all__ = ["Simulation", "SimulationOptions", "TickReport", "common_pb2"]
