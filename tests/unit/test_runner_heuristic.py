"""The heuristic brain in real situations built by the engine core, and a short society run."""

from __future__ import annotations

from emergence.v1 import perception_pb2
from engine.core import tick
from engine.core.actions import Action
from runner.core.actions import action_type_of
from runner.core.heuristic import HeuristicBrain
from runner.core.memory import AgentMemory, observe
from runner.devtools.simulate import simulate
from tests.sim.world_builder import agent_list, grant, make_world, place
from tests.unit.test_runner_fixtures import perceptions


def decide(found: perception_pb2.Perception, seed: int = 1) -> str:
    memory = AgentMemory(found.agent_id)
    observe(memory, found)
    return action_type_of(HeuristicBrain(seed).decide(found, memory).action)


def test_a_thirsty_agent_at_the_river_drinks() -> None:
    state = make_world(agents=1, seed=3)
    agent = agent_list(state)[0]
    place(state, agent, "riverbank")
    agent.thirst = 60
    found = perceptions(state)[agent.id]
    assert decide(found) == "DRINK"


def test_a_hungry_agent_holding_food_eats() -> None:
    state = make_world(agents=1, seed=3)
    agent = agent_list(state)[0]
    grant(state, agent, {"BERRY": 4})
    agent.hunger = 65
    assert decide(perceptions(state)[agent.id]) == "EAT"


def test_a_fair_trade_offer_is_accepted() -> None:
    state = make_world(agents=2, seed=5)
    giver, taker = agent_list(state)
    for agent in (giver, taker):
        place(state, agent, "riverbank")
    grant(state, giver, {"FISH": 4})
    grant(state, taker, {"WATER": 6, "BERRY": 6})
    offer = Action("TRADE_OFFER", target_id=taker.id, items=(("FISH", 2),), want=(("WATER", 2),))
    perceptions(state)
    tick.resolve(state, [tick.Submission(giver.id, offer, 0)])
    found = perceptions(state)
    assert found[taker.id].trade_offers, "the offer should be visible to the taker"
    assert decide(found[taker.id]) == "TRADE_ACCEPT"


def test_decisions_repeat_for_the_same_seed() -> None:
    found = perceptions(make_world(agents=6, seed=9))
    first = [decide(view, seed=4) for view in found.values()]
    again = [decide(view, seed=4) for view in found.values()]
    assert first == again


def test_a_short_society_run_lives_trades_and_builds() -> None:
    values, counts, counters = simulate(agents=12, ticks=250, seed=42)
    assert values["alive_at_end"] >= 10
    assert values.get("trades_completed", 0) > 0
    assert values.get("structures_built", 0) > 0
    assert counts.actions["drink"] > 0 and counters.by_route["heuristic"] > 0
