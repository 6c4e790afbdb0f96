"""Operator calls on a run, at the control plane's address: relayed to the run's own engine.

A script knows one address, the control plane's; the run's engine listens on a port of its own
that the control plane chose. This servicer forwards each Operator call (pause, resume, speed,
end condition, inject, emergency stop, snapshot) to that engine with the operator token the
engine was given, launching the engine of a run that has none yet, and keeps the engine's answer
(status and message) as it is.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.message import Message

from emergence.experiments.servicer import ControlPlane
from emergence.mesh.errors import FailedPrecondition
from emergence.v1 import operator_service_pb2 as messages
from emergence.v1 import operator_service_pb2_grpc, run_pb2

Context = grpc.aio.ServicerContext[Any, Any]
RELAY_TIMEOUT_SECONDS = 30.0
ENDED = (run_pb2.RUN_STATUS_COMPLETED, run_pb2.RUN_STATUS_FAILED)


class OperatorRelay(operator_service_pb2_grpc.OperatorServicer):
    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane

    async def _relay(self, method: str, request: Message) -> Any:
        run_id = str(getattr(request, "run_id"))  # noqa: B009 - every Operator request has one
        run = await self.plane.run(run_id)
        if run.status in ENDED:
            raise FailedPrecondition(
                f"run {run.id} has ended at tick {run.current_tick}",
                hint="fork it (ForkRun) and operate on the fork",
            )
        self.plane.refuse_for_jobs("operated")
        engine = self.plane.launcher.engine(run.id)
        if engine is None or not engine.address:
            async with self.plane.lock(run.id):
                engine = await self.plane.launcher.start(run.id)
        return await self.plane.call_engine(
            engine,
            method,
            request,
            RELAY_TIMEOUT_SECONDS,
            stub_class=operator_service_pb2_grpc.OperatorStub,
        )

    async def Pause(self, request: messages.PauseRequest, context: Context) -> Any:
        return await self._relay("Pause", request)

    async def Resume(self, request: messages.ResumeRequest, context: Context) -> Any:
        return await self._relay("Resume", request)

    async def SetSpeed(self, request: messages.SetSpeedRequest, context: Context) -> Any:
        return await self._relay("SetSpeed", request)

    async def SetEndCondition(
        self, request: messages.SetEndConditionRequest, context: Context
    ) -> Any:
        return await self._relay("SetEndCondition", request)

    async def InjectEvent(self, request: messages.InjectEventRequest, context: Context) -> Any:
        return await self._relay("InjectEvent", request)

    async def EmergencyStop(self, request: messages.EmergencyStopRequest, context: Context) -> Any:
        return await self._relay("EmergencyStop", request)

    async def Snapshot(self, request: messages.SnapshotRequest, context: Context) -> Any:
        return await self._relay("Snapshot", request)
