"""Gathering crafts: practice at one good raises the yield of that good only (comparative
advantage), and the crafts show in the agent's own perception and its stored snapshot."""

from __future__ import annotations

import pytest

from emergence.v1 import common_pb2
from engine.adapters.convert import agent_to_proto
from engine.core.act_survival import gather_yield
from engine.core.actions import Action
from engine.core.context import GATHER_SKILLS, Phase
from engine.core.perception import self_view
from engine.core.state import SKILLS
from tests.sim.world_builder import act, agent_list, make_world, place


def test_every_gathering_craft_is_a_skill_with_a_proto_value() -> None:
    for craft in set(GATHER_SKILLS.values()):
        assert craft in SKILLS
        assert common_pb2.Skill.Value(f"SKILL_{craft}") > 0


@pytest.mark.parametrize(
    ("practised", "resource", "other"),
    [("FISHING", "FISH", "ROOT"), ("DIGGING", "ROOT", "FISH"), ("WOODCUTTING", "WOOD", "BERRY")],
)
def test_practice_at_one_craft_raises_its_yield_only(
    practised: str, resource: str, other: str
) -> None:
    state = make_world(agents=1)
    agent = agent_list(state)[0]
    phase = Phase(state)
    before, other_before = gather_yield(phase, agent, resource), gather_yield(phase, agent, other)
    agent.skills[practised] = 60  # level 6 at 10 experience a level
    assert gather_yield(phase, agent, resource) == before + 3
    assert gather_yield(phase, agent, other) == other_before


def test_gathering_fish_is_practice_at_fishing() -> None:
    state = make_world(agents=1)
    agent = agent_list(state)[0]
    place(state, agent, "riverbank")
    result = act(state, agent, Action("GATHER", resource="FISH"))
    assert result.success
    assert agent.skills["FISHING"] == 1
    assert agent.skills["GATHERING"] == 1
    assert "DIGGING" not in agent.skills


def test_the_crafts_show_in_perception_and_snapshot() -> None:
    state = make_world(agents=1)
    agent = agent_list(state)[0]
    agent.skills["FISHING"] = 25
    mine = self_view(state, agent).skills
    assert ("FISHING", 2, 25) in mine
    stored = agent_to_proto(agent, state).skills
    assert any(s.skill == common_pb2.SKILL_FISHING and s.level == 2 for s in stored)
