"""The run registry is the store's runs table; this looks a run up from a caller's id safely."""

from __future__ import annotations

from emergence.experiments.config import short
from emergence.mesh.errors import InvalidArgument, NotFound
from emergence.v1 import run_pb2
from engine.adapters.event_store import EventStore

MAX_RUN_ID_LENGTH = 100


async def find_run(store: EventStore, run_id: str, *, purpose: str = "") -> run_pb2.Run:
    """The stored run `run_id`; NOT_FOUND for any id no run can have (too long, NUL bytes)."""
    if not run_id:
        raise InvalidArgument("run_id is empty")
    plausible = len(run_id) <= MAX_RUN_ID_LENGTH and run_id.isprintable()
    run = await store.get_run(run_id) if plausible else None
    if run is None:
        raise NotFound(
            f"no run {short(run_id)!r}{f' to {purpose}' if purpose else ''}",
            hint="ListRuns names the stored runs",
        )
    return run
