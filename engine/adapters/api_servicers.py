"""Observer, Operator and Experiments servicers: read from the store and bus; steer only the loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from emergence.mesh.errors import FailedPrecondition, InvalidArgument, NotFound
from emergence.mesh.redact import redacted_run
from emergence.v1 import (
    common_pb2,
    event_pb2,
    experiments_service_pb2,
    experiments_service_pb2_grpc,
    observer_service_pb2,
    observer_service_pb2_grpc,
    operator_service_pb2,
    operator_service_pb2_grpc,
    run_pb2,
)
from engine.adapters.bus import tick_subject

if TYPE_CHECKING:
    from engine.app import EngineHost

Context = Any
DEFAULT_PAGE_SIZE = 500
MAX_PAGE_SIZE = 10_000


def _page(page_size: int, page_token: str) -> tuple[int, int]:
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    if page_token and not page_token.isdigit():
        raise InvalidArgument(f"page_token {page_token!r} is not one this server issued")
    return size, int(page_token or 0)


class ObserverServicer(observer_service_pb2_grpc.ObserverServicer):
    def __init__(self, host: EngineHost) -> None:
        self.host = host

    def _check_run(self, run_id: str) -> str:
        if run_id and run_id != self.host.run.id:
            raise NotFound(
                f"run {run_id!r} is not served by this engine (it serves {self.host.run.id})"
            )
        return self.host.run.id

    async def QueryEvents(
        self, request: observer_service_pb2.QueryEventsRequest, context: Context
    ) -> observer_service_pb2.QueryEventsResponse:
        run_id = self._check_run(request.run_id)
        size, offset = _page(request.page_size, request.page_token)
        events = await self.host.store.events(
            run_id,
            request.from_tick,
            request.to_tick or None,
            list(request.types) or None,
            request.agent_id,
        )
        window = events[offset : offset + size]
        next_token = str(offset + size) if offset + size < len(events) else ""
        return observer_service_pb2.QueryEventsResponse(events=window, next_page_token=next_token)

    async def StreamTicks(
        self, request: observer_service_pb2.StreamTicksRequest, context: Context
    ) -> AsyncIterator[observer_service_pb2.StreamTicksResponse]:
        run_id = self._check_run(request.run_id)
        subscription = self.host.bus.subscribe(tick_subject(run_id))
        live = asyncio.ensure_future(anext(subscription))
        last = request.from_tick
        for row in await self.host.store.tick_rows(
            run_id, request.from_tick + 1 if request.from_tick else 0
        ):
            last = row.tick
            yield observer_service_pb2.StreamTicksResponse(summary=row.summary)
        while True:
            _subject, payload = await live
            summary = run_pb2.TickSummary.FromString(payload)
            if summary.tick > last or last == 0:
                last = summary.tick
                yield observer_service_pb2.StreamTicksResponse(summary=summary)
            live = asyncio.ensure_future(anext(subscription))

    async def StreamEvents(
        self, request: observer_service_pb2.StreamEventsRequest, context: Context
    ) -> AsyncIterator[observer_service_pb2.StreamEventsResponse]:
        """Stored events from `from_tick` first, then live ones from the bus, without gaps or repeats."""
        run_id = self._check_run(request.run_id)
        wanted = set(request.types)
        subscription = self.host.bus.subscribe(f"emergence.{run_id}.event.>")
        live = asyncio.ensure_future(anext(subscription))
        last_key = (-1, -1)
        stored = await self.host.store.events(
            run_id, request.from_tick, None, list(wanted) or None, request.agent_id
        )
        for event in stored:
            last_key = (event.tick, event.sequence)
            yield observer_service_pb2.StreamEventsResponse(event=event)
        while True:
            _subject, payload = await live
            live = asyncio.ensure_future(anext(subscription))
            event = event_pb2.Event.FromString(payload)
            if (event.tick, event.sequence) <= last_key:
                continue
            if (wanted and event.type not in wanted) or (
                request.agent_id and event.agent_id != request.agent_id
            ):
                continue
            last_key = (event.tick, event.sequence)
            yield observer_service_pb2.StreamEventsResponse(event=event)

    async def GetSeries(
        self, request: observer_service_pb2.GetSeriesRequest, context: Context
    ) -> observer_service_pb2.GetSeriesResponse:
        """Series from the stored tick summaries (population, economy, timings)."""
        run_id = self._check_run(request.run_id)
        rows = await self.host.store.tick_rows(run_id, request.from_tick)
        step = max(1, request.step)
        chosen = [row for row in rows if (not request.to_tick or row.tick <= request.to_tick)][
            ::step
        ]
        series = []
        for metric in request.metrics:
            points = [
                observer_service_pb2.SeriesPoint(
                    tick=row.tick, value=summary_metric(row.summary, metric)
                )
                for row in chosen
            ]
            series.append(observer_service_pb2.Series(metric=metric, points=points))
        return observer_service_pb2.GetSeriesResponse(series=series)

    async def ListDecisions(
        self, request: observer_service_pb2.ListDecisionsRequest, context: Context
    ) -> observer_service_pb2.ListDecisionsResponse:
        run_id = self._check_run(request.run_id)
        size, offset = _page(request.page_size, request.page_token)
        decisions = await self.host.store.decisions(
            run_id, request.from_tick, request.to_tick or None, request.agent_id
        )
        window = decisions[offset : offset + size]
        next_token = str(offset + size) if offset + size < len(decisions) else ""
        return observer_service_pb2.ListDecisionsResponse(
            decisions=window, next_page_token=next_token
        )

    async def ListAlerts(
        self, request: observer_service_pb2.ListAlertsRequest, context: Context
    ) -> observer_service_pb2.ListAlertsResponse:
        run_id = self._check_run(request.run_id)
        return observer_service_pb2.ListAlertsResponse(
            alerts=await self.host.store.alerts(run_id, request.from_tick)
        )

    async def ListConstructs(
        self, request: observer_service_pb2.ListConstructsRequest, context: Context
    ) -> observer_service_pb2.ListConstructsResponse:
        """Every social construct detected in this run, dissolved ones included (with their tick)."""
        self._check_run(request.run_id)
        return observer_service_pb2.ListConstructsResponse(
            constructs=self.host.simulation.constructs.constructs()
        )


SUMMARY_FIELDS = {
    "population.alive": "alive",
    "population.dead": "dead",
    "population.births": "births",
    "population.deaths": "deaths",
    "population.average_age": "average_age",
    "economy.trades": "trades",
    "economy.gini": "gini",
    "gini": "gini",
    "events": "events",
    "alerts": "alerts",
}


def summary_metric(summary: run_pb2.TickSummary, metric: str) -> float:
    """A named number from a tick summary; `resource.<name>.<held_by_agents|at_nodes|...>` too."""
    if metric in SUMMARY_FIELDS:
        return float(getattr(summary, SUMMARY_FIELDS[metric]))
    if metric.startswith("timings."):
        return float(getattr(summary.timings, metric.removeprefix("timings."), 0.0))
    parts = metric.split(".")
    if len(parts) == 3 and parts[0] == "resource":
        for totals in summary.resources:
            name = common_pb2.Resource.Name(totals.resource).removeprefix("RESOURCE_").lower()
            if name == parts[1] and parts[2] in (
                "held_by_agents",
                "at_nodes",
                "in_structures",
                "on_ground",
            ):
                return float(getattr(totals, parts[2]))
        return 0.0
    raise InvalidArgument(
        f"unknown metric {metric!r}",
        hint="use e.g. population.alive, economy.gini, timings.resolve_ms, resource.wood.held_by_agents",
    )


class OperatorServicer(operator_service_pb2_grpc.OperatorServicer):
    """Every call becomes an OperatorAction event in the next committed tick."""

    def __init__(self, host: EngineHost) -> None:
        self.host = host

    def _record(self, action: str, **parameters: object) -> None:
        self.host.simulation.pending_operator_events.append(
            event_pb2.Event(
                type=event_pb2.EVENT_TYPE_OPERATOR_ACTION,
                operator_action=event_pb2.OperatorActionDetails(
                    action=action, parameters={k: str(v) for k, v in parameters.items()}
                ),
            )
        )

    def _run(self, run_id: str) -> run_pb2.Run:
        if run_id and run_id != self.host.run.id:
            raise NotFound(
                f"run {run_id!r} is not served by this engine (it serves {self.host.run.id})"
            )
        return self.host.run

    async def Pause(
        self, request: operator_service_pb2.PauseRequest, context: Context
    ) -> operator_service_pb2.PauseResponse:
        run = self._run(request.run_id)
        self.host.simulation.pause()
        run.status = run_pb2.RUN_STATUS_PAUSED
        self._record("pause", reason=request.reason)
        return operator_service_pb2.PauseResponse(run=run)

    async def Resume(
        self, request: operator_service_pb2.ResumeRequest, context: Context
    ) -> operator_service_pb2.ResumeResponse:
        run = self._run(request.run_id)
        self.host.simulation.resume()
        run.status = run_pb2.RUN_STATUS_RUNNING
        self._record("resume")
        return operator_service_pb2.ResumeResponse(run=run)

    async def SetSpeed(
        self, request: operator_service_pb2.SetSpeedRequest, context: Context
    ) -> operator_service_pb2.SetSpeedResponse:
        run = self._run(request.run_id)
        if request.tick_interval_ms > 3_600_000:
            raise InvalidArgument("tick_interval_ms must be at most 3 600 000 (one hour)")
        self.host.simulation.options.tick_interval_ms = request.tick_interval_ms
        run.config.tick_interval_ms = request.tick_interval_ms
        self._record("set_speed", tick_interval_ms=request.tick_interval_ms)
        return operator_service_pb2.SetSpeedResponse(
            run=run, tick_interval_ms=request.tick_interval_ms
        )

    async def SetEndCondition(
        self, request: operator_service_pb2.SetEndConditionRequest, context: Context
    ) -> operator_service_pb2.SetEndConditionResponse:
        run = self._run(request.run_id)
        options = self.host.simulation.options
        options.max_ticks = request.end.max_ticks
        if request.end.time_limit_seconds:
            options.time_limit_seconds = request.end.time_limit_seconds
        options.stop_on_extinction = request.end.stop_on_extinction
        run.config.end.CopyFrom(request.end)
        self._record(
            "set_end_condition",
            max_ticks=request.end.max_ticks,
            time_limit_seconds=request.end.time_limit_seconds,
        )
        return operator_service_pb2.SetEndConditionResponse(run=run)

    async def InjectEvent(
        self, request: operator_service_pb2.InjectEventRequest, context: Context
    ) -> operator_service_pb2.InjectEventResponse:
        """Checked now on a copy of the world (clear errors at once); applied after the next wake."""
        import copy

        from engine.adapters.convert import world_event_from_proto
        from engine.core.world_events import WorldEventError, apply_world_event
        from engine.simulation import INJECT_ACTION

        self._run(request.run_id)
        kind, parameters = world_event_from_proto(request.event)
        if not kind:
            raise InvalidArgument(
                "event is empty: set one of natural_disaster, resource_boom, plague, "
                "migration, technology_gift, resource_depletion, contact, internet_unlock"
            )
        if request.at_tick and request.at_tick != self.host.simulation.state.tick + 1:
            raise InvalidArgument(
                "at_tick: only the next tick (0) is supported; inject later from your code"
            )
        try:
            apply_world_event(copy.deepcopy(self.host.simulation.state), kind, parameters)
        except WorldEventError as error:
            raise InvalidArgument(f"{kind}: {error}") from error
        self._record(INJECT_ACTION, kind=kind, **parameters)
        return operator_service_pb2.InjectEventResponse(
            operator_action_id=f"{kind}@{self.host.simulation.state.tick + 1}",
            effective_tick=self.host.simulation.state.tick + 1,
        )

    async def EmergencyStop(
        self, request: operator_service_pb2.EmergencyStopRequest, context: Context
    ) -> operator_service_pb2.EmergencyStopResponse:
        run = self._run(request.run_id)
        self.host.simulation.request_stop(request.reason or "emergency stop")
        self._record("emergency_stop", reason=request.reason)
        return operator_service_pb2.EmergencyStopResponse(
            run=run, snapshot_tick=self.host.simulation.state.tick
        )

    async def Snapshot(
        self, request: operator_service_pb2.SnapshotRequest, context: Context
    ) -> operator_service_pb2.SnapshotResponse:
        run = self._run(request.run_id)
        tick = await self.host.simulation.snapshot_now()
        self._record("snapshot", tick=tick)
        return operator_service_pb2.SnapshotResponse(
            snapshot_tick=tick, snapshot_id=f"{run.id}@{tick}"
        )


class ExperimentsServicer(experiments_service_pb2_grpc.ExperimentsServicer):
    def __init__(self, host: EngineHost) -> None:
        self.host = host

    def _run(self, run_id: str) -> run_pb2.Run:
        if run_id != self.host.run.id:
            raise NotFound(
                f"run {run_id!r} is not served by this engine (it serves {self.host.run.id})"
            )
        return self.host.run

    async def GetRun(
        self, request: experiments_service_pb2.GetRunRequest, context: Context
    ) -> experiments_service_pb2.GetRunResponse:
        return experiments_service_pb2.GetRunResponse(run=self._run(request.run_id))

    async def ListRuns(
        self, request: experiments_service_pb2.ListRunsRequest, context: Context
    ) -> experiments_service_pb2.ListRunsResponse:
        runs = {run.id: run for run in await self.host.store.list_runs()}
        runs[self.host.run.id] = self.host.run
        return experiments_service_pb2.ListRunsResponse(
            runs=[redacted_run(runs[key]) for key in sorted(runs)]
        )

    async def StartRun(
        self, request: experiments_service_pb2.StartRunRequest, context: Context
    ) -> experiments_service_pb2.StartRunResponse:
        run = self._run(request.run_id)
        self.host.start_loop()
        return experiments_service_pb2.StartRunResponse(run=run)

    async def StepRun(
        self, request: experiments_service_pb2.StepRunRequest, context: Context
    ) -> experiments_service_pb2.StepRunResponse:
        run = self._run(request.run_id)
        if request.ticks == 0 or request.ticks > 100_000:
            raise InvalidArgument(f"ticks must be between 1 and 100 000, got {request.ticks}")
        if self.host.loop_running:
            raise FailedPrecondition(
                "the run is advancing on its own; pause it (Operator.Pause) before stepping"
            )
        if run.status in (run_pb2.RUN_STATUS_COMPLETED, run_pb2.RUN_STATUS_FAILED):
            raise FailedPrecondition(
                f"run {run.id} has ended at tick {run.current_tick}; start a new run to go on"
            )
        summaries = []
        async with self.host.step_lock:
            for _ in range(request.ticks):
                report = await self.host.simulation.step()
                summaries.append(report.summary)
                if report.ended:
                    await self.host.simulation.finish(report.ended)
                    break
        return experiments_service_pb2.StepRunResponse(run=run, summaries=summaries)
