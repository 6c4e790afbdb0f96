"""Run the engine core for many ticks with a decision function, as the shell would."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

from engine.core import tick
from engine.core.actions import Action
from engine.core.events import DomainEvent
from engine.core.perception import Perception
from engine.core.state import WorldState

Decide = Callable[[WorldState, str, Perception, random.Random], Action]


def run(
    state: WorldState,
    ticks: int,
    decide: Decide,
    on_tick: Callable[[WorldState, list[DomainEvent], dict[str, Perception]], None] | None = None,
) -> str:
    """Advance `ticks` ticks; returns a sha256 over every event, in order (the history)."""
    history = hashlib.sha256()
    for _ in range(ticks):
        woke = tick.wake(state)
        perceptions = tick.perceive(state)
        rng = random.Random(f"{state.seed}:{state.tick}")
        submissions = [
            tick.Submission(agent_id, decide(state, agent_id, perceptions[agent_id], rng), order)
            for order, agent_id in enumerate(sorted(perceptions))
        ]
        resolved = tick.resolve(state, submissions)
        events = [*woke.events, *resolved.events]
        for event in events:
            history.update(repr((state.tick, event.type, event.agent_id, event.details)).encode())
        if on_tick is not None:
            on_tick(state, events, perceptions)
    return history.hexdigest()
