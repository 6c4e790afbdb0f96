"""Workshops, forges and stores: the work done at a structure is recorded against it, stone lasts,
and a mind keeps food in its store at home and takes it out when its pack runs low."""

from __future__ import annotations

import random

from emergence.v1 import common_pb2
from engine.core import tick
from engine.core.actions import Action
from engine.core.config import WorldConfig
from engine.core.conservation import check_conservation
from engine.core.state import Structure, WorldState
from runner.core.memory import AgentMemory, observe
from runner.core.plans_craft import food_kept
from runner.core.plans_place import PACK_FOOD, store
from runner.core.situation import Situation
from tests.sim.world_builder import agent_list, grant, make_world, place
from tests.unit.test_runner_fixtures import perceptions


def _stand(state: WorldState, kind: str, location_id: str, owner: str = "") -> Structure:
    built = Structure(f"s-{kind.lower()}", kind, location_id, owner, owner, 0)
    state.structures[built.id] = built
    state.locations[location_id].structure_ids.append(built.id)
    return built


def _crafted_at(state: WorldState, action: Action) -> list[str]:
    agent = agent_list(state)[0]
    outcome = tick.resolve(state, [tick.Submission(agent.id, action, 0)])
    assert outcome.results[agent.id].success, outcome.results[agent.id].outcome
    assert check_conservation(state) == []
    return [
        str(event.details["structure_id"])
        for event in outcome.events
        if event.type == "ITEM_CRAFTED"
    ]


def test_a_tool_made_at_a_workshop_names_the_workshop() -> None:
    state = make_world(agents=1)
    agent = agent_list(state)[0]
    place(state, agent, "riverbank")
    workshop = _stand(state, "WORKSHOP", "riverbank")
    grant(state, agent, {"WOOD": 2, "STONE": 2})
    agent.knowledge.add("basic_tools")
    assert _crafted_at(state, Action("CRAFT", resource="TOOL")) == [workshop.id]
    assert agent.holds("TOOL") == 1


def test_metal_smelted_at_a_forge_names_the_forge() -> None:
    state = make_world(agents=1)
    agent = agent_list(state)[0]
    place(state, agent, "rocky_outcrop")
    forge = _stand(state, "FORGE", "rocky_outcrop")
    grant(state, agent, {"ORE": 2, "WOOD": 1})
    agent.knowledge.add("smelting")
    assert _crafted_at(state, Action("SMELT")) == [forge.id]


def test_what_is_built_of_stone_outlasts_a_lean_to() -> None:
    kinds = WorldConfig().structures.kinds
    lean_to = kinds["LEAN_TO"].decay_per_tick
    for name, kind in kinds.items():
        if kind.cost.get("STONE", 0) >= 10:
            assert kind.decay_per_tick < lean_to, name


def _situation(state: WorldState, memory: AgentMemory) -> Situation:
    found = perceptions(state)[memory.agent_id]
    observe(memory, found)
    return Situation.read(found, memory, random.Random(0))


def test_food_beyond_the_next_days_goes_into_the_store_at_home() -> None:
    state = make_world(agents=1)
    agent = agent_list(state)[0]
    place(state, agent, "open_field")
    _stand(state, "STORAGE_PIT", "open_field", owner=agent.id)
    grant(state, agent, {"FISH": 36, "ROOT": 8, "WATER": 6})
    memory = AgentMemory(agent.id)
    memory.home_id = "open_field"
    situation = _situation(state, memory)
    found = store(situation)
    assert len(found) == 1
    deposit = found[0].action.deposit
    # Fish spoils first: it goes in, leaving the pack the food the agent means to carry.
    kept = max(PACK_FOOD, food_kept(situation))
    assert deposit.item.resource == common_pb2.RESOURCE_FISH
    assert deposit.item.quantity == min(36, 44 - kept)
    memory.home_id = "riverbank"
    assert store(_situation(state, memory)) == [], "a store away from home is not filled"


def test_a_hungry_agent_with_an_empty_pack_takes_food_from_its_store() -> None:
    state = make_world(agents=1)
    agent = agent_list(state)[0]
    place(state, agent, "open_field")
    pit = _stand(state, "STORAGE_PIT", "open_field", owner=agent.id)
    pit.storage["ROOT"] = 12
    agent.hunger = 50.0
    memory = AgentMemory(agent.id)
    memory.home_id = "open_field"
    memory.stored[pit.id] = {"ROOT": 12}
    found = store(_situation(state, memory))
    assert [c.action.WhichOneof("params") for c in found] == ["withdraw"]
    assert found[0].action.withdraw.structure_id == pit.id
