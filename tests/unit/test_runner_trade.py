"""Trade in goods that are dear where they are traded: what anyone here can gather is neither
offered nor asked for, and who likely carries what is remembered from what each was seen getting."""

from __future__ import annotations

import json
import random

from emergence.v1 import perception_pb2
from runner.core import economy
from runner.core.memory import AgentMemory, Place, from_dict, observe, to_dict
from runner.core.plans_social import _offer_trade, _surplus, _wanted, free_here, held_here
from runner.core.plans_work import _produce
from runner.core.situation import Situation
from runner.core.vocabulary import RESOURCES
from tests.sim.world_builder import agent_list, grant, make_world, place
from tests.unit.test_runner_fixtures import perceptions


def _at_riverbank(**goods: int) -> tuple[perception_pb2.Perception, str, str]:
    """Two agents at Riverbank (water, wood, berries, stone, fish); the first holds `goods`."""
    state = make_world(agents=2, seed=5)
    me, other = agent_list(state)
    for agent in (me, other):
        place(state, agent, "riverbank")
    grant(state, me, {name.upper(): quantity for name, quantity in goods.items()})
    return perceptions(state)[me.id], me.id, other.id


def _situation(perception: perception_pb2.Perception, memory: AgentMemory) -> Situation:
    observe(memory, perception)
    return Situation.read(perception, memory, random.Random(0))


def test_the_word_after_the_first_number_names_the_good_got() -> None:
    assert economy.good_got("gathered 4 fish") == "FISH"
    assert economy.good_got("made 1 cooked from 1 fish") == "COOKED"
    assert economy.good_got("picked up 3 wood") == "WOOD"
    assert economy.good_got("rested in a shelter") == ""


def test_goods_free_here_are_not_offered() -> None:
    perception, me, _ = _at_riverbank(fish=9, water=9, root=9)
    situation = _situation(perception, AgentMemory(me))
    assert "FISH" in situation.free_here() and "ROOT" not in situation.free_here()
    # Roots grow nowhere at Riverbank: those are what it has to offer here.
    assert _surplus(situation) == ("ROOT", 4)
    perception, me, _ = _at_riverbank(fish=9, water=9)
    assert _surplus(_situation(perception, AgentMemory(me))) is None


def test_what_someone_was_seen_getting_elsewhere_is_asked_of_them_here() -> None:
    perception, me, other = _at_riverbank(root=9, water=9)
    memory = AgentMemory(me)
    # Seen getting clay earlier, somewhere else: it likely carries clay now.
    memory.goods_seen[other] = ("CLAY", int(perception.tick) - 10)
    situation = _situation(perception, memory)
    assert other in held_here(situation)["CLAY"]


def test_goods_free_here_are_never_wanted_in_trade() -> None:
    perception, me, other = _at_riverbank(root=9, water=1)
    memory = AgentMemory(me)
    # Someone here is believed to carry fish and wood, both to be had here for the gathering.
    memory.goods_seen[other] = ("FISH", int(perception.tick))
    situation = _situation(perception, memory)
    assert _wanted(situation, "ROOT") not in situation.free_here()
    assert _wanted(situation, "ROOT") == ""
    for candidate in _offer_trade(situation):
        for amount in candidate.action.trade_offer.want:
            assert amount.resource != RESOURCES["FISH"]


def test_goods_seen_survive_a_round_trip() -> None:
    memory = AgentMemory("a")
    memory.goods_seen["b"] = ("CLAY", 12)
    assert from_dict(json.loads(json.dumps(to_dict(memory)))) == memory


def test_work_away_from_home_goes_to_what_is_dear_at_home() -> None:
    state = make_world(agents=1, seed=3)
    agent = agent_list(state)[0]
    place(state, agent, "forest_edge")  # wood, berries and roots
    perception = perceptions(state)[agent.id]
    memory = AgentMemory(agent.id)
    # Home is a river with wood and berries but no roots; digging and woodcutting pay the same.
    memory.home_id = "riverbank"
    memory.places["riverbank"] = Place("Riverbank", "Central Valley", {"WOOD": 4, "BERRY": 3})
    for activity in ("gather wood", "gather root", "gather berry"):
        economy.learn_yield(memory, activity, 4.0)
    situation = Situation.read(perception, memory, random.Random(0))
    chosen = _produce(situation)
    assert chosen and chosen[0].action.gather.resource == RESOURCES["ROOT"]


def test_a_good_whose_source_here_is_nearly_gathered_out_is_dear() -> None:
    state = make_world(agents=2, seed=5)
    me, other = agent_list(state)
    for agent in (me, other):
        place(state, agent, "riverbank")
    grant(state, me, {"FISH": 9, "WATER": 9})
    fish = state.locations["riverbank"].nodes["FISH"]
    fish.available, fish.regen_per_tick = 3, 0  # "scarce", and not growing back this tick
    situation = _situation(perceptions(state)[me.id], AgentMemory(me.id))
    assert "FISH" not in free_here(situation) and "WATER" in free_here(situation)
    assert _surplus(situation) == ("FISH", 4)
