"""The default world is livable: 20 agents who drink, eat and stock up sensibly survive 2 000 ticks."""

from __future__ import annotations

import random

from engine.core.actions import Action
from engine.core.perception import Perception
from engine.core.state import WorldState
from tests.sim.driver import run
from tests.sim.policy import survival_action
from tests.sim.world_builder import make_world


def sensible(
    state: WorldState, agent_id: str, perception: Perception, rng: random.Random
) -> Action:
    return survival_action(perception, rng)


def test_twenty_sensible_agents_survive_two_thousand_ticks() -> None:
    state = make_world(agents=20, seed=1)
    deaths: list[str] = []

    def watch(state: WorldState, events: list, perceptions: dict) -> None:  # type: ignore[type-arg]
        deaths.extend(str(e.details["cause"]) for e in events if e.type == "AGENT_DIED")

    run(state, 2000, sensible, watch)
    assert deaths == []
    assert state.population == 20
