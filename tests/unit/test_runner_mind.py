"""Mechanisms of the general mind: prices learnt from trades, work chosen by observed yields and
practice, votes cast by interest and trust, recipes and birth terms read from the perception."""

from __future__ import annotations

import json
import random

from emergence.v1 import action_pb2, common_pb2, perception_pb2
from runner.core import economy
from runner.core.actions import action_type_of
from runner.core.memory import AgentMemory, from_dict, observe, reflect, to_dict
from runner.core.plans_social import _votes, proposal_interest
from runner.core.plans_work import _produce, wanted_structure
from runner.core.situation import Situation
from tests.sim.world_builder import agent_list, grant, make_world, place
from tests.unit.test_runner_fixtures import perceptions


def _situation(perception: perception_pb2.Perception, memory: AgentMemory) -> Situation:
    observe(memory, perception)
    return Situation.read(perception, memory, random.Random(0))


def test_prices_move_toward_what_observed_deals_say() -> None:
    memory = AgentMemory("a")
    before_fish, before_wood = economy.price(memory, "FISH"), economy.price(memory, "WOOD")
    # Four wood bought two fish, again and again: fish is dearer than the agent thought.
    for _ in range(10):
        economy.learn_exchange(memory, [("WOOD", 4)], [("FISH", 2)])
    assert economy.price(memory, "FISH") > before_fish
    assert economy.price(memory, "WOOD") < before_wood
    ratio = economy.price(memory, "FISH") / economy.price(memory, "WOOD")
    assert 1.8 < ratio < 2.2


def test_an_accepted_trade_teaches_a_price() -> None:
    memory = AgentMemory("a")
    result = action_pb2.ActionResult(
        agent_id="a", tick=3, success=True, action_type=action_pb2.ACTION_TYPE_TRADE_ACCEPT
    )
    result.gained.add(resource=common_pb2.RESOURCE_METAL, quantity=1)
    result.lost.add(resource=common_pb2.RESOURCE_WOOD, quantity=12)
    reflect(memory, result)
    # Twelve wood paid for one metal: metal is dearer, and wood cheaper, than believed.
    assert economy.price(memory, "METAL") > economy.PRIOR_WORTH["METAL"]
    assert economy.price(memory, "WOOD") < economy.PRIOR_WORTH["WOOD"]


def test_work_goes_to_the_activity_with_the_higher_observed_yield() -> None:
    state = make_world(agents=1, seed=3)
    agent = agent_list(state)[0]
    place(state, agent, "forest_edge")  # wood and berries both gatherable here
    found = perceptions(state)[agent.id]
    chosen = {}
    for better in ("wood", "berry"):
        memory = AgentMemory(agent.id)
        economy.learn_yield(memory, f"gather {better}", 9.0)
        other = "berry" if better == "wood" else "wood"
        economy.learn_yield(memory, f"gather {other}", 2.0)
        candidates = _produce(_situation(found, memory))
        chosen[better] = candidates[0].action.gather.resource
    assert chosen["wood"] == common_pb2.RESOURCE_WOOD
    assert chosen["berry"] == common_pb2.RESOURCE_BERRY


def test_practice_pulls_toward_the_familiar_activity() -> None:
    memory = AgentMemory("a")
    for _ in range(20):
        economy.learn_yield(memory, "gather fish", 4.0)
    economy.learn_yield(memory, "gather wood", 4.0)
    assert economy.practice_share(memory, "gather fish") > 0.9
    assert economy.practice_share(memory, "gather wood") < 0.1


def test_a_tax_proposal_gets_a_no_from_a_member_who_does_not_trust_its_author() -> None:
    state = make_world(agents=2, seed=5)
    voter, proposer = agent_list(state)
    for agent in (voter, proposer):
        place(state, agent, "riverbank")
    grant(state, voter, {"FISH": 10, "WATER": 8})
    voter.relationships[proposer.id] = -0.4
    found = perceptions(state)[voter.id]
    proposal = found.proposals.add(
        proposal_id="p-1",
        kind=action_pb2.PROPOSAL_KIND_LAW,
        proposer_id=proposer.id,
        proposer_name=proposer.name,
        terms="every member pays a tax of two fish to the founder",
    )
    found.available_actions.add(
        action_type=action_pb2.ACTION_TYPE_VOTE, options={"candidates": proposal.proposal_id}
    )
    situation = _situation(found, AgentMemory(voter.id))
    assert proposal_interest(situation, proposal.terms) < 0
    votes = _votes(situation)
    assert votes and votes[0].action.vote.yes is False


def test_a_hungry_member_backs_a_sharing_rule() -> None:
    state = make_world(agents=2, seed=5)
    voter = agent_list(state)[0]
    found = perceptions(state)[voter.id]
    situation = _situation(found, AgentMemory(voter.id))
    assert proposal_interest(situation, "members share water and food with the hungry") > 0


def test_the_structure_wanted_comes_from_the_recipes_in_the_perception() -> None:
    state = make_world(agents=1, seed=3)
    agent = agent_list(state)[0]
    place(state, agent, "open_field")
    found = perceptions(state)[agent.id]
    kind = wanted_structure(_situation(found, AgentMemory(agent.id)))
    assert kind and any(r.product == kind for r in found.recipes)
    # Without the lean-to's recipe in the perception the mind cannot want one.
    del found.recipes[:]
    assert wanted_structure(_situation(found, AgentMemory(agent.id))) == ""


def test_what_the_mind_learnt_survives_a_round_trip() -> None:
    memory = AgentMemory("a")
    economy.learn_exchange(memory, [("WOOD", 4)], [("FISH", 2)])
    economy.learn_yield(memory, "gather fish", 5.0)
    economy.note_danger(memory, "cave", 0.5)
    memory.open_offer = ((("WOOD", 2),), (("FISH", 1),))
    memory.grievances["theft"] = 2
    again = from_dict(json.loads(json.dumps(to_dict(memory))))
    assert again == memory


def test_the_chosen_work_is_a_listed_action() -> None:
    state = make_world(agents=3, seed=8)
    for agent in agent_list(state):
        place(state, agent, "riverbank")
    for agent_id, found in perceptions(state).items():
        for candidate in _produce(_situation(found, AgentMemory(agent_id))):
            assert action_type_of(candidate.action) in {"GATHER", "CRAFT", "SMELT", "MINE"}


def test_a_place_without_water_is_not_worth_settling_for_its_food() -> None:
    from runner.core.memory import Place
    from runner.core.plans_place import place_value

    crowded_river = Place("River", "Valley", {"WATER": 5, "FISH": 3, "BERRY": 2})
    dry_forest = Place("Forest", "Valley", {"BERRY": 4, "ROOT": 3})
    assert place_value(dry_forest, 0, 0.0) < place_value(crowded_river, 12, 0.0)
