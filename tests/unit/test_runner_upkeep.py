"""Structures worth keeping: a worn structure relied on is mended before it falls, and materials
a place lacks are fetched from a place remembered to have them and carried back."""

from __future__ import annotations

import random

from emergence.v1 import common_pb2, perception_pb2
from engine.core.state import Structure
from runner.core.actions import action_type_of
from runner.core.memory import AgentMemory, Place, observe
from runner.core.plans_place import mend
from runner.core.plans_work import _build
from runner.core.situation import Situation
from tests.sim.world_builder import agent_list, grant, make_world, place
from tests.unit.test_runner_fixtures import perceptions


def _situation(perception: perception_pb2.Perception, memory: AgentMemory) -> Situation:
    observe(memory, perception)
    return Situation.read(perception, memory, random.Random(0))


def _worn_hut(items: dict[str, int]) -> tuple[perception_pb2.Perception, str]:
    state = make_world(agents=1, seed=4)
    agent = agent_list(state)[0]
    place(state, agent, "riverbank")
    grant(state, agent, items)
    agent.knowledge.add("build_hut")  # the recipe tells what mending takes
    hut = Structure("hut-1", "BASIC_HUT", "riverbank", agent.id, agent.id, 0, durability=40.0)
    state.structures[hut.id] = hut
    state.locations["riverbank"].structure_ids.append(hut.id)
    return perceptions(state)[agent.id], agent.id


def test_a_worn_structure_relied_on_is_mended_or_its_materials_gathered() -> None:
    found, agent_id = _worn_hut({"WATER": 6, "FISH": 6, "WOOD": 20, "STONE": 10})
    chosen = mend(_situation(found, AgentMemory(agent_id)))
    assert [action_type_of(c.action) for c in chosen] == ["REPAIR"]
    # Without the stone mending takes, the agent gathers it here while the hut still stands.
    found, agent_id = _worn_hut({"WATER": 6, "FISH": 6, "WOOD": 12})
    chosen = mend(_situation(found, AgentMemory(agent_id)))
    assert [action_type_of(c.action) for c in chosen] == ["GATHER"]
    assert chosen[0].action.gather.resource == common_pb2.RESOURCE_STONE


def _builder_at(location_id: str, items: dict[str, int]) -> tuple[Situation, AgentMemory]:
    """A hard-working agent set on a hut at the riverbank, whose stone is all gathered."""
    state = make_world(agents=1, seed=6)
    agent = agent_list(state)[0]
    agent.personality["industriousness"] = 0.9
    agent.knowledge.add("build_hut")
    agent.known_location_ids.update({"riverbank", "forest_edge", "rocky_outcrop"})
    place(state, agent, location_id)
    grant(state, agent, {"WATER": 8, "BERRY": 10, **items})  # supplied for the road
    found = perceptions(state)[agent.id]
    memory = AgentMemory(agent.id)
    memory.places["riverbank"] = Place("Riverbank", "Central Valley", {"WATER": 5, "STONE": 0})
    # Forest Edge's stone, gathered out when last seen, is not counted on.
    memory.places["forest_edge"] = Place(
        "Forest Edge",
        "Central Valley",
        {"WOOD": 4, "STONE": 0},
        1,
        {"r-fe": ("riverbank", 2), "r-fo": ("rocky_outcrop", 5)},
    )
    memory.places["rocky_outcrop"] = Place("Rocky Outcrop", "Highlands", {"STONE": 3}, 1)
    memory.project = ("BASIC_HUT", "riverbank", int(found.tick))
    return _situation(found, memory), memory


def test_materials_the_place_lacks_are_fetched_from_where_they_are_and_carried_back() -> None:
    # On the way: stone is remembered at the outcrop, so the agent heads there.
    situation, _ = _builder_at("open_field", {"WOOD": 20})
    chosen = _build(situation)
    assert [action_type_of(c.action) for c in chosen] == ["MOVE"]
    assert chosen[0].action.move.destination_id == "forest_edge"
    # Where stone is to be had on the way, it is gathered there.
    situation, _ = _builder_at("forest_edge", {"WOOD": 20})
    chosen = _build(situation)
    assert chosen[0].action.gather.resource == common_pb2.RESOURCE_STONE
    # At the outcrop it gathers the stone ...
    situation, _ = _builder_at("rocky_outcrop", {"WOOD": 20})
    chosen = _build(situation)
    assert chosen[0].action.gather.resource == common_pb2.RESOURCE_STONE
    # ... and with the stone in hand it sets off back toward the riverbank.
    situation, _ = _builder_at("rocky_outcrop", {"WOOD": 20, "STONE": 10})
    chosen = _build(situation)
    assert [action_type_of(c.action) for c in chosen] == ["MOVE"]
    assert chosen[0].action.move.destination_id == "forest_edge"


def test_a_project_survives_the_memory_store() -> None:
    import orjson

    from runner.adapters.memory_store import memory_text
    from runner.core.memory import from_dict

    memory = AgentMemory("a")
    memory.project = ("BASIC_HUT", "riverbank", 12)
    assert from_dict(orjson.loads(memory_text(memory))) == memory
