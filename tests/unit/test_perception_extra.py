"""The perception carries the world's recipes, food values and birth terms, as far as the agent
knows them: a mind reads them there instead of keeping its own copy."""

from __future__ import annotations

from engine.adapters import convert
from engine.core import tick
from engine.core.config import load_world_config
from engine.core.perception_extra import perception_extra
from tests.sim.world_builder import agent_list, make_world


def test_recipes_follow_what_the_agent_knows() -> None:
    state = make_world(agents=2)
    agent = agent_list(state)[0]
    before = {r.product for r in perception_extra(state, agent).recipes}
    assert "LEAN_TO" in before and "TOOL" not in before and "WORKSHOP" not in before
    agent.knowledge |= {"basic_tools"}
    recipes = {r.product: r for r in perception_extra(state, agent).recipes}
    assert recipes["TOOL"].inputs == (("STONE", 2), ("WOOD", 2))
    assert recipes["TOOL"].needs_structure == "WORKSHOP"
    assert recipes["WORKSHOP"].action_type == "BUILD"


def test_costs_and_terms_come_from_the_world_config() -> None:
    config = load_world_config(
        {
            "structures": {
                "kinds": {"LEAN_TO": {"cost": {"WOOD": 5}, "blueprint": "build_lean_to"}}
            },
            "population": {"birth_interval_ticks": 40},
        }
    )
    state = make_world(agents=2, config=config)
    agent = agent_list(state)[0]
    extra = perception_extra(state, agent)
    lean_to = next(r for r in extra.recipes if r.product == "LEAN_TO")
    assert lean_to.inputs == (("WOOD", 5),)
    assert extra.life_terms.birth_interval_ticks == 40
    agent.last_child_tick = state.tick - 10
    assert perception_extra(state, agent).life_terms.ticks_until_child_allowed == 30


def test_advanced_and_experience_knowledge_is_marked() -> None:
    state = make_world(agents=2)
    agent = agent_list(state)[0]
    agent.knowledge |= {"metalworking", "observe_seasons"}
    extra = perception_extra(state, agent)
    assert "metalworking" in extra.not_inherited and "observe_seasons" in extra.not_inherited
    assert extra.not_teachable == ("observe_seasons",)


def test_the_message_carries_them() -> None:
    state = make_world(agents=2)
    perception = next(iter(tick.perceive(state).values()))
    message = convert.perception_to_proto(perception)
    assert {r.product for r in message.recipes} >= {"CAMPFIRE", "LEAN_TO"}
    assert {f.hunger for f in message.foods} >= {20.0, 50.0}
    assert message.life_terms.reproduce_trust == 0.7
