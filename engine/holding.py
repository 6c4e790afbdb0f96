"""Holding a tick through a transient outage: capped exponential backoff, reported while it lasts.

What is transient is decided at the edges: adapters raise `Unavailable` (or `DeadlineExceeded`)
for a service that cannot be reached; everything else is a failure of the run. A hold never ends
by itself: the engine waits for the service as long as it takes (or until it is asked to stop).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from emergence.mesh.errors import DeadlineExceeded, EmergenceError, Unavailable

log = logging.getLogger("emergence.engine.hold")

T = TypeVar("T")

TRANSIENT: tuple[type[EmergenceError], ...] = (Unavailable, DeadlineExceeded)


class HoldAbandoned(EmergenceError):
    """The engine was asked to stop while it held a tick: nothing of the tick was committed."""


@dataclass
class Backoff:
    first_seconds: float = 0.1
    cap_seconds: float = 5.0
    attempt: int = 0

    def next_delay(self) -> float:
        # Jitter spreads retries of several engines in time; it never touches the world.
        delay: float = min(self.cap_seconds, self.first_seconds * 2.0**self.attempt)
        self.attempt += 1
        return delay * (0.5 + random.random() / 2.0)


@dataclass
class Outage:
    """One hold: which service, since when, how often it was retried, the last error."""

    service: str
    tick: int
    started_monotonic: float = field(default_factory=time.monotonic)
    retries: int = 0
    last_error: str = ""

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started_monotonic


@dataclass
class Holder:
    """Runs one step of a tick again until it succeeds; tells `on_hold`/`on_heal` about outages."""

    on_hold: Callable[[Outage], None]
    on_heal: Callable[[Outage], None]
    should_stop: Callable[[], bool]
    first_backoff_seconds: float = 0.1
    cap_backoff_seconds: float = 5.0
    retries_total: int = 0

    async def until_done(self, service: str, tick: int, attempt: Callable[[], Awaitable[T]]) -> T:
        outage: Outage | None = None
        backoff = Backoff(self.first_backoff_seconds, self.cap_backoff_seconds)
        while True:
            try:
                result = await attempt()
            except TRANSIENT as error:
                if outage is None:
                    outage = Outage(service, tick)
                outage.retries += 1
                outage.last_error = str(error)[:200]
                self.retries_total += 1
                self.on_hold(outage)
                if self.should_stop():
                    raise HoldAbandoned(
                        f"stopped while waiting for {service} at tick {tick}"
                    ) from error
                await asyncio.sleep(backoff.next_delay())
                continue
            if outage is not None:
                self.on_heal(outage)
            return result
