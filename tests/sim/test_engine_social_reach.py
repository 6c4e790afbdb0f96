"""Social life is reachable with the default numbers: friendly agents bond and have a child."""

from __future__ import annotations

import random

from engine.core.actions import Action
from engine.core.perception import Perception
from engine.core.state import WorldState
from tests.sim.driver import run
from tests.sim.policy import survival_action
from tests.sim.world_builder import agent_list, make_world, place


def friendly(
    state: WorldState, agent_id: str, perception: Perception, rng: random.Random
) -> Action:
    """Survive first; otherwise talk to, trade with or court the agent here, read from the view."""
    me = perception.self_view
    if me.thirst >= 40 or me.hunger >= 40 or me.energy < 40:
        return survival_action(perception, rng)
    if perception.bond_requests:
        return Action("REPRODUCE", target_id=perception.bond_requests[0].from_agent_id)
    if perception.trade_offers and perception.trade_offers[0].can_accept:
        return Action("TRADE_ACCEPT", target_id=perception.trade_offers[0].trade_id)
    others = list(perception.agents)
    if not others:
        return survival_action(perception, rng)
    partner = others[0]
    available = {a.action_type for a in perception.available_actions}
    if "REPRODUCE" in available:
        return Action("REPRODUCE", target_id=partner.agent_id)
    most, quantity = max(me.inventory, key=lambda item: item[1], default=("", 0))
    if quantity >= 2 and most != "WATER" and rng.random() < 0.5:
        return Action(
            "TRADE_OFFER", target_id=partner.agent_id, items=((most, 1),), want=(("WATER", 1),)
        )
    if rng.random() < 0.3:
        return survival_action(perception, rng)
    return Action("COMMUNICATE", target_id=partner.agent_id, text="good to see you")


def test_two_friendly_agents_reach_trust_and_have_a_child_within_a_few_dozen_ticks() -> None:
    state = make_world(agents=2, seed=4)
    for agent in agent_list(state):
        place(state, agent, "riverbank")
    born_at: list[int] = []
    trades: list[int] = []

    def watch(state: WorldState, events: list, perceptions: dict) -> None:  # type: ignore[type-arg]
        born_at.extend(state.tick for e in events if e.type == "AGENT_BORN")
        trades.extend(state.tick for e in events if e.type == "TRADE_COMPLETED")

    run(state, 120, friendly, watch)
    assert trades, "friendly agents completed no trade"
    assert born_at and born_at[0] <= 100, f"no birth by tick 100: {born_at}"
    assert state.population >= 3
