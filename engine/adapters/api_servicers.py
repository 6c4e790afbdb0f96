"""Operator and Experiments servicers of the engine: they steer only the loop (the Observer is
observer_service, which reads the store and the bus)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emergence.mesh.errors import FailedPrecondition, InvalidArgument, NotFound
from emergence.v1 import (
    event_pb2,
    experiments_service_pb2,
    experiments_service_pb2_grpc,
    operator_service_pb2,
    operator_service_pb2_grpc,
    run_pb2,
)

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


def public_run(run: run_pb2.Run) -> run_pb2.Run:
    """A run as clients see it: without the store URL (it may carry a password)."""
    copy = run_pb2.Run()
    copy.CopyFrom(run)
    copy.ClearField("store")
    return copy


class ExperimentsServicer(experiments_service_pb2_grpc.ExperimentsServicer):
    """The run control of this engine's one run (the control plane proxies StartRun/StepRun here)."""

    def __init__(self, host: EngineHost) -> None:
        self.host = host

    def _run(self, run_id: str) -> run_pb2.Run:
        if run_id != self.host.run.id:
            raise NotFound(
                f"run {run_id[:60]!r} is not served by this engine (it serves {self.host.run.id})"
            )
        return self.host.run

    async def GetRun(
        self, request: experiments_service_pb2.GetRunRequest, context: Context
    ) -> experiments_service_pb2.GetRunResponse:
        return experiments_service_pb2.GetRunResponse(run=public_run(self._run(request.run_id)))

    async def ListRuns(
        self, request: experiments_service_pb2.ListRunsRequest, context: Context
    ) -> experiments_service_pb2.ListRunsResponse:
        runs = {run.id: run for run in await self.host.store.list_runs()}
        runs[self.host.run.id] = self.host.run
        return experiments_service_pb2.ListRunsResponse(
            runs=[public_run(runs[key]) for key in sorted(runs)]
        )

    async def StartRun(
        self, request: experiments_service_pb2.StartRunRequest, context: Context
    ) -> experiments_service_pb2.StartRunResponse:
        """Let the run advance on its own to its end; refused while StepRun steps or once ended."""
        run = self._run(request.run_id)
        if run.status in (run_pb2.RUN_STATUS_COMPLETED, run_pb2.RUN_STATUS_FAILED):
            raise FailedPrecondition(
                f"run {run.id} has ended at tick {run.current_tick}; fork it to go on"
            )
        if self.host.step_lock.locked():
            raise FailedPrecondition("the run is being stepped (StepRun); start it afterwards")
        if not self.host.loop_running:
            run.status = run_pb2.RUN_STATUS_RUNNING
            self.host.start_loop()
        return experiments_service_pb2.StartRunResponse(run=public_run(run))

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
        if self.host.step_lock.locked():
            raise FailedPrecondition("the run is already being stepped; wait for that StepRun")
        summaries = []
        async with self.host.step_lock:
            for _ in range(request.ticks):
                report = await self.host.simulation.step()
                summaries.append(report.summary)
                if report.ended:
                    await self.host.simulation.finish(report.ended)
                    break
            else:
                await self.host.store.save_run(run)
        return experiments_service_pb2.StepRunResponse(run=public_run(run), summaries=summaries)
