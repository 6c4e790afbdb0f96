"""Test helper: an engine's runner hub served over real gRPC on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from emergence.mesh.server import RunningServer, start_server
from engine.adapters.runner_hub import RunnerHub, hub_binding


@contextlib.asynccontextmanager
async def serving(hub: RunnerHub, grace_seconds: float = 0.2) -> AsyncIterator[RunningServer]:
    """The hub as the WorldEngine service on a free loopback port, stopped when the block ends
    (bound as the engine binds it: Connect checks every field of what runners send itself)."""
    server = await start_server("127.0.0.1:0", [hub_binding(hub)])
    try:
        yield server
    finally:
        await server.stop(grace_seconds)
