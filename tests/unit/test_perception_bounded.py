"""Perceptions stay bounded in a crowd: a few relevant agents listed, everyone counted, targets
named once by a token that the heuristic expands to the agents it sees (ADR 0016)."""

from __future__ import annotations

import random
import statistics

from emergence.action_words import AGENTS_HERE_TOKEN, KNOWN_TOKEN
from engine.adapters import convert
from engine.core import tick
from engine.core.actions import Action
from engine.core.perception import AGENTS_LISTED, STRUCTURES_LISTED, everyone_here
from engine.core.state import Structure, TradeOffer, WorldState
from engine.simulation import clone_state
from runner.core.memory import AgentMemory
from runner.core.prompt_context import prompt_context
from runner.core.situation import Situation
from tests.sim.world_builder import agent_list, grant, make_world, place

CROWD = 300
TARGETED = {"COMMUNICATE", "ATTACK", "STEAL", "GIVE", "TRADE_OFFER", "FORM_GROUP", "MARRY", "TEACH"}


def crowd() -> WorldState:
    state = make_world(agents=CROWD, seed=11)
    for agent in agent_list(state):
        place(state, agent, "riverbank")
    tick.wake(state)
    return state


def test_in_a_crowd_of_300_each_perception_lists_12_counts_everyone_and_stays_small() -> None:
    state = crowd()
    perceptions = tick.perceive(state)
    assert len(perceptions) == CROWD
    sizes = []
    for perception in perceptions.values():
        assert len(perception.agents) == AGENTS_LISTED
        assert perception.agents_here.count == CROWD - 1
        here = perception.agents_here
        assert here.children + here.adults + here.elders == CROWD - 1
        assert perception.agent_id not in {other.agent_id for other in perception.agents}
        for entry in perception.available_actions:
            if entry.action_type in TARGETED:
                assert entry.options["target_agent_id"] == AGENTS_HERE_TOKEN
                assert "00000000" not in entry.form
        sizes.append(convert.perception_to_proto(perception).ByteSize())
    assert statistics.median(sizes) <= 4096, statistics.median(sizes)


def test_the_listed_few_are_the_relevant_ones_and_the_same_every_time() -> None:
    state = crowd()
    me, partner, enemy, offerer, *rest = agent_list(state)
    me.partner_id, partner.partner_id = partner.id, me.id
    me.relationships[enemy.id] = -0.9
    for index, other in enumerate(rest[:20]):  # mild acquaintances: the enemy matters more
        me.relationships[other.id] = 0.01 * (index + 1)
    grant(state, offerer, {"WOOD": 2})
    state.trades["t-1"] = TradeOffer("t-1", offerer.id, me.id, {"WOOD": 1}, {"WATER": 1}, 1, 9)
    first = tick.perceive(clone_state(state))[me.id]
    second = tick.perceive(clone_state(state))[me.id]
    assert first == second
    listed = [other.agent_id for other in first.agents]
    assert listed == sorted(listed)
    assert {partner.id, enemy.id, offerer.id} <= set(listed)
    # The strongest acquaintances fill the rest: the weakest are left out.
    assert rest[19].id in listed and rest[0].id not in listed
    here = first.agents_here
    assert (here.known, here.distrusted, here.kin) == (21, 1, 1)
    assert here.strangers == CROWD - 1 - 22


def test_everyone_here_lists_the_whole_crowd_as_the_agent_sees_it() -> None:
    state = crowd()
    me, friend = agent_list(state)[:2]
    me.relationships[friend.id] = 0.8
    everyone = everyone_here(state, me)
    assert len(everyone) == CROWD - 1
    assert [s.agent_id for s in everyone] == sorted(s.agent_id for s in everyone)
    words = {s.agent_id: s.relationship_word for s in everyone}
    assert words[friend.id] == "close friend" and me.id not in words


def test_the_heuristic_reads_the_token_as_the_agents_it_sees() -> None:
    state = crowd()
    me = agent_list(state)[0]
    grant(state, me, {"BERRY": 3})
    perception = tick.perceive(state)[me.id]
    message = convert.perception_to_proto(perception)
    situation = Situation.read(message, AgentMemory(agent_id=me.id), random.Random(1))
    listed = sorted(other.agent_id for other in message.agents)
    assert situation.agent_targets("COMMUNICATE") == listed
    assert situation.agent_targets("GIVE") == listed
    context = prompt_context(message, AgentMemory(agent_id=me.id), [])
    assert f"{CROWD - 1} people here in all, {AGENTS_LISTED} shown" in context["here"]["crowd"]
    descriptions = {action["name"]: action["description"] for action in context["actions"]}
    assert descriptions["communicate"] == "say something to one agent here"
    assert all(not entry.description for entry in message.available_actions)
    # Standard forms travel empty and are rebuilt exactly as the engine wrote them.
    forms = {action["name"]: action["form"] for action in context["actions"]}
    built = {entry.action_type.lower(): entry.form for entry in perception.available_actions}
    assert forms == built
    assert forms["give"] == "give(target_agent_id, items) target in [any agent here]"
    assert all(not entry.form for entry in message.available_actions)


def test_teach_names_the_knowledge_by_token_and_sightings_only_shared_groups() -> None:
    state = crowd()
    me, fellow, outsider = agent_list(state)[:3]
    me.knowledge.update({"cooking", "build_campfire", "gather_wood", "basic_trade"})
    me.group_ids.add("g-shared")
    fellow.group_ids.update({"g-shared", "g-other"})
    outsider.group_ids.add("g-third")
    me.relationships.update({fellow.id: 0.5, outsider.id: 0.5})
    perception = tick.perceive(state)[me.id]
    teach = next(e for e in perception.available_actions if e.action_type == "TEACH")
    assert teach.options["knowledge"] == KNOWN_TOKEN
    groups = {other.agent_id: other.group_ids for other in perception.agents}
    assert groups[fellow.id] == ("g-shared",) and groups[outsider.id] == ()


def test_an_agent_here_but_not_listed_is_a_valid_target() -> None:
    state = crowd()
    me = agent_list(state)[0]
    perception = tick.perceive(state)[me.id]
    listed = {other.agent_id for other in perception.agents}
    unlisted = next(
        o for o in sorted(state.locations["riverbank"].agent_ids) if o not in listed | {me.id}
    )
    action = Action("COMMUNICATE", target_id=unlisted, text="hello")
    outcome = tick.resolve(state, [tick.Submission(me.id, action, 0)])
    assert outcome.results[me.id].success, outcome.results[me.id]


def test_a_place_full_of_shelters_names_12_mine_and_the_unowned_first_and_counts_them_all() -> None:
    state = make_world(agents=30, seed=11)
    agents = agent_list(state)
    for agent in agents:
        place(state, agent, "riverbank")
    shelters = []
    for index, agent in enumerate(agents[:29]):
        shelter = Structure(f"s-{index:02}", "LEAN_TO", "riverbank", agent.id, agent.id, 0)
        shelters.append(shelter)
    ruin = Structure("s-99-ruin", "BASIC_HUT", "riverbank", "", "", 0)
    for built in (*shelters, ruin):
        state.structures[built.id] = built
        state.locations["riverbank"].structure_ids.append(built.id)
    tick.wake(state)
    last = agents[28]  # owns the last shelter by id
    perceptions = tick.perceive(state)
    for perception in perceptions.values():
        listed = [s.structure_id for s in perception.structures]
        assert len(listed) == STRUCTURES_LISTED and listed == sorted(listed)
        assert perception.structures_here == 30
        assert "s-99-ruin" in listed
    mine = perceptions[last.id]
    assert "s-28" in {s.structure_id for s in mine.structures}
    assert next(s for s in mine.structures if s.structure_id == "s-28").owner == "you"
    message = convert.perception_to_proto(mine)
    assert message.structures_here == 30 and len(message.structures) == STRUCTURES_LISTED
    context = prompt_context(message, AgentMemory(agent_id=last.id), [])
    assert any("22 more not shown" in line for line in context["here"]["structures"])
