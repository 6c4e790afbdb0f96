"""Test helper: an engine's runner hub served over real gRPC on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from emergence.mesh.server import RunningServer, ServiceBinding, start_server
from engine.adapters.runner_hub import RunnerHub, add_hub_to_server


@contextlib.asynccontextmanager
async def serving(hub: RunnerHub, grace_seconds: float = 0.2) -> AsyncIterator[RunningServer]:
    """The hub as the WorldEngine service on a free loopback port, stopped when the block ends."""
    binding = ServiceBinding("emergence.v1.WorldEngine", lambda s: add_hub_to_server(hub, s))
    server = await start_server("127.0.0.1:0", [binding])
    try:
        yield server
    finally:
        await server.stop(grace_seconds)
