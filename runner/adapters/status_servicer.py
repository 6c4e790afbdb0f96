"""emergence.v1.Runner/Status: what this runner is connected to, its agents, routes and costs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from emergence.mesh.server import ServiceBinding
from emergence.v1 import run_pb2, runner_service_pb2, runner_service_pb2_grpc
from runner.adapters.engine_client import BRAIN_KINDS, EngineClient

BackendFigures = Callable[[], list[runner_service_pb2.BackendStatus]]


class RunnerStatusServicer(runner_service_pb2_grpc.RunnerServicer):
    def __init__(self, client: EngineClient, backend_figures: BackendFigures | None = None) -> None:
        self.client = client
        self.backend_figures = backend_figures or list

    async def Status(
        self,
        request: runner_service_pb2.StatusRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> runner_service_pb2.StatusResponse:
        return status_of(self.client, self.backend_figures())


def status_of(
    client: EngineClient, backends: list[runner_service_pb2.BackendStatus]
) -> runner_service_pb2.StatusResponse:
    decider, state = client.decider, client.state
    counters = decider.counters
    return runner_service_pb2.StatusResponse(
        runner_id=client.runner_id,
        connected=state.connected,
        engine_address=client.address,
        agent_ids=sorted(state.agent_ids),
        last_tick=state.last_tick,
        decisions=counters.decisions,
        decisions_by_route=dict(counters.by_route),
        fallbacks=counters.fallbacks,
        overrides=counters.overrides,
        containment_alerts=decider.containment_alerts,
        backends=backends,
        brain=BRAIN_KINDS.get(client.brain, run_pb2.BRAIN_KIND_HEURISTIC),
    )


def status_binding(servicer: RunnerStatusServicer) -> ServiceBinding:
    return ServiceBinding(
        "emergence.v1.Runner",
        lambda server: runner_service_pb2_grpc.add_RunnerServicer_to_server(servicer, server),
    )
