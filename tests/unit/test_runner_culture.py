"""Culture in the general mind: reading what is written here, writing what others here lack,
inviting the trusted into one's group, sanctioning a thief under the group's rule."""

from __future__ import annotations

import random

from emergence.v1 import perception_pb2
from engine.core.state import Group, WorldState
from runner.core.actions import action_type_of
from runner.core.memory import AgentMemory, observe
from runner.core.plans_civic import _enforce, _read, _write
from runner.core.plans_social import _invite
from runner.core.situation import Situation
from tests.sim.world_builder import agent_list, make_world, place
from tests.unit.test_runner_fixtures import perceptions


def _together(agents: int) -> WorldState:
    state = make_world(agents=agents, seed=11)
    for agent in agent_list(state):
        place(state, agent, "riverbank")
        agent.energy = 100
    return state


def _situation(perception: perception_pb2.Perception, memory: AgentMemory) -> Situation:
    observe(memory, perception)
    return Situation.read(perception, memory, random.Random(0))


def _group(state: WorldState, founder_id: str, members: set[str]) -> Group:
    group = Group("g-river", "River Folk", founder_id, 0, set(members))
    group.roles[founder_id] = "founder"
    state.groups[group.id] = group
    for member_id in members:
        state.agents[member_id].group_ids.add(group.id)
    return group


def test_a_tablet_here_with_something_unknown_is_worth_reading() -> None:
    state = _together(2)
    reader, _ = agent_list(state)
    state.locations["riverbank"].writings["pottery"] = state.tick
    memory = AgentMemory(reader.id)
    found = _read(_situation(perceptions(state)[reader.id], memory))
    assert [c.action.read.knowledge for c in found] == ["pottery"]


def test_the_writer_writes_what_the_people_here_are_not_known_to_know() -> None:
    state = _together(2)
    writer, other = agent_list(state)
    writer.knowledge |= {"written_language", "pottery", "agriculture"}
    memory = AgentMemory(writer.id)
    # The other was seen to know everything the writer knows but pottery.
    memory.known_by[other.id] = set(writer.knowledge) - {"pottery"}
    found = _write(_situation(perceptions(state)[writer.id], memory))
    assert [c.action.write.knowledge for c in found] == ["pottery"]
    # Once it is written here, it is not offered again.
    state.locations["riverbank"].writings["pottery"] = state.tick
    memory.known_by[other.id] = set(writer.knowledge) - {"agriculture"}
    again = _write(_situation(perceptions(state)[writer.id], memory))
    assert [c.action.write.knowledge for c in again] == ["agriculture"]


def test_a_member_invites_those_here_it_trusts_and_not_the_others() -> None:
    state = _together(4)
    member, fellow, friend, stranger = agent_list(state)
    _group(state, fellow.id, {member.id, fellow.id})
    member.relationships[friend.id] = 0.5
    member.relationships[fellow.id] = 0.5
    member.relationships[stranger.id] = 0.0
    found = _invite(_situation(perceptions(state)[member.id], AgentMemory(member.id)))
    assert len(found) == 1
    invite = found[0].action.form_group
    assert invite.group_id == "g-river" and list(invite.member_ids) == [friend.id]


def test_a_founder_sanctions_a_thief_here_under_its_rule_against_theft() -> None:
    state = _together(3)
    founder, thief, bystander = agent_list(state)
    group = _group(state, founder.id, {founder.id})
    group.rules.append("no member steals from another; a thief repays twice what was taken")
    perception = perceptions(state)[founder.id]
    assert list(perception.self.enforceable_rules) == group.rules
    memory = AgentMemory(founder.id)
    assert _enforce(_situation(perception, memory)) == []  # nobody here wronged it
    memory.cheated_by[thief.id] = state.tick
    found = _enforce(_situation(perception, memory))
    assert [action_type_of(c.action) for c in found] == ["ENFORCE"]
    enforce = found[0].action.enforce
    assert enforce.target_agent_id == thief.id and enforce.rule == group.rules[0]
    assert bystander.id != enforce.target_agent_id
