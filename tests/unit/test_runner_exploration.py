"""Exploration as the value of information: searches lower the hope of a hidden way, a friend's
word raises it, a way found is told, and a material never handled is worth trying."""

from __future__ import annotations

import json
import random

from emergence.v1 import action_pb2, common_pb2, perception_pb2
from runner.core.actions import action_type_of
from runner.core.memory import (
    WAY_WORDS,
    AgentMemory,
    Place,
    from_dict,
    observe,
    reflect,
    to_dict,
    way_item,
)
from runner.core.plans_explore import HIDDEN_PRIOR, WORTH_A_TRIP, information, search_hope, wander
from runner.core.situation import Situation
from tests.sim.world_builder import agent_list, make_world, place
from tests.unit.test_runner_fixtures import perceptions


def _situation(perception: perception_pb2.Perception, memory: AgentMemory) -> Situation:
    observe(memory, perception)
    return Situation.read(perception, memory, random.Random(0))


def _explored(memory: AgentMemory, tick: int) -> None:
    result = action_pb2.ActionResult(
        agent_id=memory.agent_id,
        tick=tick,
        success=True,
        action_type=action_pb2.ACTION_TYPE_EXPLORE,
        outcome="explored the surroundings and found nothing new",
    )
    reflect(memory, result)


def test_each_fruitless_search_lowers_the_hope_and_a_friends_word_raises_it() -> None:
    memory = AgentMemory("a")
    memory.location_id = "cave"
    assert search_hope(memory, "cave") == HIDDEN_PRIOR
    hopes = []
    for tick in range(1, 5):
        _explored(memory, tick)
        hopes.append(search_hope(memory, "cave"))
    assert hopes == sorted(hopes, reverse=True) and hopes[-1] < HIDDEN_PRIOR / 3
    # A friend says a hidden way starts there: the searches before the word no longer count.
    memory.places["cave"] = Place("Mountain Cave", "Highlands")
    memory.rumours["cave"] = memory.searches["cave"]
    assert information(memory, "cave") > 1.0
    # Once the agent has found that way itself, the word has done its work.
    memory.hidden_ways["cave"] = "spring"
    assert search_hope(memory, "cave") == hopes[-1]


def test_a_way_that_shows_after_a_search_is_remembered_as_hidden() -> None:
    state = make_world(agents=1, seed=3)
    agent = agent_list(state)[0]
    place(state, agent, "forest_edge")
    memory = AgentMemory(agent.id)
    observe(memory, perceptions(state)[agent.id])
    assert not memory.hidden_ways
    # What a lucky search does in the engine: the hidden route and its end become known.
    hidden = next(r for r in state.routes_from("forest_edge") if r.hidden)
    agent.explored_route_ids.add(hidden.id)
    agent.known_location_ids.add("deep_forest")
    observe(memory, perceptions(state)[agent.id])
    assert memory.hidden_ways == {"forest_edge": "deep_forest"}


def test_a_way_found_is_told_once_and_the_word_sends_the_listener_searching() -> None:
    state = make_world(agents=2, seed=3)
    finder, friend = agent_list(state)
    for agent in (finder, friend):
        place(state, agent, "forest_edge")
    found = perceptions(state)
    memory = AgentMemory(finder.id)
    observe(memory, found[finder.id])
    memory.places["deep_forest"] = Place("Deep Forest", "Central Valley", seen_tick=-1)
    memory.hidden_ways["forest_edge"] = "deep_forest"
    told = [
        c
        for c in wander(Situation.read(found[finder.id], memory, random.Random(0)))
        if action_type_of(c.action) == "COMMUNICATE"
    ]
    assert told and told[0].action.communicate.target_agent_id == friend.id
    text = told[0].action.communicate.text
    assert text == WAY_WORDS.format(origin="Forest Edge", destination="Deep Forest")
    reflect(
        memory,
        action_pb2.ActionResult(
            agent_id=finder.id,
            tick=found[finder.id].tick,
            success=True,
            action_type=action_pb2.ACTION_TYPE_COMMUNICATE,
            action=told[0].action,
        ),
    )
    assert way_item("forest_edge") in memory.known_by[friend.id]
    again = wander(Situation.read(found[finder.id], memory, random.Random(0)))
    assert not any(action_type_of(c.action) == "COMMUNICATE" for c in again)
    # The friend hears it: searching at Forest Edge is now worth more than anywhere unsearched.
    listener = AgentMemory(friend.id)
    heard = found[friend.id]
    heard.messages.add(from_agent_id=finder.id, from_name=finder.name, text=text)
    observe(listener, heard)
    assert "forest_edge" in listener.rumours
    assert information(listener, "forest_edge") > information(listener, "riverbank")


def test_a_material_never_handled_is_worth_trying_until_it_has_been() -> None:
    state = make_world(agents=1, seed=3)
    agent = agent_list(state)[0]
    agent.personality["curiosity"] = 0.9
    place(state, agent, "estuary")
    found = perceptions(state)[agent.id]
    memory = AgentMemory(agent.id)
    trials = [
        c.action.gather.resource
        for c in wander(_situation(found, memory))
        if action_type_of(c.action) == "GATHER"
    ]
    assert trials == [common_pb2.RESOURCE_CLAY]
    for resource in ("clay", "fiber", "fish", "water"):
        memory.yields[f"gather {resource}"] = (1.0, 1)
    assert not any(action_type_of(c.action) == "GATHER" for c in wander(_situation(found, memory)))


def test_what_exploring_taught_survives_a_round_trip() -> None:
    memory = AgentMemory("a")
    memory.searches["cave"] = 3
    memory.hidden_ways["cave"] = "spring"
    memory.rumours["outcrop"] = 1
    assert from_dict(json.loads(json.dumps(to_dict(memory)))) == memory


def test_a_place_never_searched_is_searched_on_arrival_before_anything_else_moves_the_agent() -> (
    None
):
    state = make_world(agents=1, seed=3)
    agent = agent_list(state)[0]
    place(state, agent, "forest_edge")
    memory = AgentMemory(agent.id)
    memory.location_id = "riverbank"  # it has just come from the river
    found = perceptions(state)[agent.id]
    searches = [
        c.score for c in wander(_situation(found, memory)) if action_type_of(c.action) == "EXPLORE"
    ]
    assert memory.arrived_tick == found.tick and searches and searches[0] > 1.0
    # Searched once: the place promises less, and no more than any place searched once.
    _explored(memory, int(found.tick))
    later = perceptions(state)[agent.id]
    memory.explored_at["forest_edge"] = -100
    again = [
        c.score for c in wander(_situation(later, memory)) if action_type_of(c.action) == "EXPLORE"
    ]
    assert again and again[0] < 1.0


def test_leaving_a_place_never_searched_counts_as_a_glance_so_it_is_not_sought_again() -> None:
    state = make_world(agents=1, seed=3)
    agent = agent_list(state)[0]
    place(state, agent, "forest_edge")
    memory = AgentMemory(agent.id)
    for _ in range(3):
        observe(memory, perceptions(state)[agent.id])
    assert information(memory, "forest_edge") == 1.0
    place(state, agent, "riverbank")
    observe(memory, perceptions(state)[agent.id])
    assert memory.searches["forest_edge"] == 1
    assert information(memory, "forest_edge") < WORTH_A_TRIP
