"""Every stored tick summary says where its time went, persist included: the part of its own
commit before the summary, and the whole commit of the tick before it."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from emergence.embedded import embedded_run
from emergence.mesh.settings import load_settings
from engine.adapters.event_store import open_event_store

TICKS = 6


async def test_stored_summaries_hold_every_phase_including_persist(tmp_path: Path) -> None:
    settings = load_settings(
        environ={},
        overrides={"run.agents": 4, "run.ticks": TICKS, "run.seed": 3, "run.out": str(tmp_path)},
    )
    summary = await embedded_run(settings, progress=False)
    store = open_event_store(summary.store)
    await store.open()
    try:
        rows = await store.tick_rows(summary.run_id)
    finally:
        await store.close()
    later = [row.summary.timings for row in rows if row.tick >= 1]
    assert len(later) == TICKS
    for timings in later:
        assert timings.wake_ms > 0 and timings.perceive_ms > 0 and timings.resolve_ms > 0
        assert timings.persist_ms > 0 and timings.previous_persist_ms > 0
    # The previous tick's whole commit includes at least what its summary could see.
    pairs = pairwise(rows)
    assert all(
        b.summary.timings.previous_persist_ms >= a.summary.timings.persist_ms for a, b in pairs
    )
