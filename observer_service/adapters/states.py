"""An LRU of worlds rebuilt at past ticks, so scrubbing a timeline does not replay from scratch."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass

from emergence.mesh import metrics
from engine.adapters.event_store import EventStore
from engine.core.state import WorldState
from engine.rebuild import state_at

DEFAULT_CAPACITY = 24


@dataclass(frozen=True)
class Rebuilt:
    """A world at `tick`, never to be changed by its readers (it is shared through the cache)."""

    state: WorldState
    tick: int
    snapshot_tick: int
    events_replayed: int


class StateCache:
    """(run, tick) -> world; a miss starts from the nearest cached earlier world or the snapshot."""

    def __init__(self, store: EventStore, capacity: int = DEFAULT_CAPACITY) -> None:
        self._store = store
        self._capacity = capacity
        self._states: OrderedDict[tuple[str, int], Rebuilt] = OrderedDict()
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}

    async def get(self, run_id: str, tick: int) -> Rebuilt:
        key = (run_id, tick)
        cached = self._hit(key)
        if cached is not None:
            return cached
        # One rebuild per (run, tick) at a time: many clients asking for the same tick share it.
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                cached = self._hit(key)
                if cached is not None:
                    return cached
                started = time.perf_counter()
                built = await state_at(self._store, run_id, tick, start=self._nearest_before(key))
                metrics.OBSERVER_REBUILDS.inc()
                metrics.OBSERVER_REBUILD_SECONDS.observe(time.perf_counter() - started)
                rebuilt = Rebuilt(built.state, tick, built.snapshot_tick, built.events_replayed)
                self._remember(key, rebuilt)
                return rebuilt
        finally:
            if not lock.locked():
                self._locks.pop(key, None)

    def _hit(self, key: tuple[str, int]) -> Rebuilt | None:
        state = self._states.get(key)
        if state is not None:
            self._states.move_to_end(key)
        return state

    def _nearest_before(self, key: tuple[str, int]) -> tuple[int, WorldState] | None:
        run_id, tick = key
        earlier = [t for (r, t) in self._states if r == run_id and t < tick]
        if not earlier:
            return None
        best = max(earlier)
        return best, self._states[(run_id, best)].state

    def _remember(self, key: tuple[str, int], rebuilt: Rebuilt) -> None:
        self._states[key] = rebuilt
        self._states.move_to_end(key)
        while len(self._states) > self._capacity:
            self._states.popitem(last=False)
