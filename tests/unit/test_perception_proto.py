"""The hot-path perception conversion builds exactly the message the generic, reflective filling
built, tick after tick of a busy world (trades, proposals, messages, structures, bonds)."""

from __future__ import annotations

import dataclasses
import random

from emergence.v1 import common_pb2, perception_pb2
from engine.adapters import convert
from engine.core import tick
from engine.core.perception import (
    BondRequestView,
    GroupInvitationView,
    Perception,
    ProposalView,
)
from engine.core.perception_extra import PerceptionExtra
from tests.sim.test_engine_available import _busy_world, anything


def reflective_perception(perception: Perception) -> perception_pb2.Perception:
    """The generic, field-by-name conversion the hot path used before: the reference."""
    p = perception
    me = p.self_view
    message = perception_pb2.Perception(
        agent_id=p.agent_id,
        tick=p.tick,
        location_description=p.location_description,
        location_region=p.location_region,
        notifications=list(p.notifications),
        known_location_names=list(p.known_location_names),
        sleeping=p.sleeping,
        era=common_pb2.Era.Value(f"ERA_{p.era}"),
        observable_knowledge=list(p.observable_knowledge),
    )
    convert.fill(
        message.clock,
        {
            "tick": p.tick, "time_of_day": f"TIME_OF_DAY_{p.time_of_day}",
            "season": f"SEASON_{p.season}", "weather": f"WEATHER_{p.weather}",
            "days_until_season_change": p.days_until_season_change, "year": p.year,
        },
    )  # fmt: skip
    self_message = message.self
    convert.fill(
        self_message,
        {
            "agent_id": me.agent_id, "name": me.name, "age": me.age,
            "life_stage": f"LIFE_STAGE_{me.life_stage}", "location_id": me.location_id,
            "location_name": me.location_name, "carry_load": me.carry_load,
            "carry_capacity": me.carry_capacity, "group_ids": me.group_ids,
            "group_names": me.group_names, "partner_id": me.partner_id,
            "knowledge": me.knowledge, "personality": me.personality, "sex": f"SEX_{me.sex}",
            "energy_cap": me.energy_cap, "in_transit": me.in_transit,
            "travel_ticks_remaining": me.travel_ticks_remaining,
            "destination_name": me.destination_name, "enforceable_rules": me.enforceable_rules,
            "vitals": {"energy": me.energy, "health": me.health, "hunger": me.hunger,
                       "thirst": me.thirst, "age": me.age},
        },
    )  # fmt: skip
    self_message.inventory.extend(convert.amounts(me.inventory))
    for skill, level, experience in me.skills:
        self_message.skills.add(
            skill=common_pb2.Skill.Value(f"SKILL_{skill}"), level=level, experience=experience
        )
    for index, goal in enumerate(me.goals):
        self_message.goals.add(text=goal, priority=index + 1)
    for resource in p.resources:
        message.resources.add(
            resource=convert.resource_value(resource.resource), amount_word=resource.amount_word,
            on_ground=resource.on_ground, ground_quantity=resource.ground_quantity,
        )  # fmt: skip
    for structure in p.structures:
        convert.fill(message.structures.add(), convert._as_mapping(structure))
    message.agents.extend(convert._agent_sighting(other) for other in p.agents)
    message.routes.extend(convert._route_sighting(route) for route in p.routes)
    for board in p.board:
        convert.fill(message.board.add(), convert._as_mapping(board))
    for private in p.messages:
        convert.fill(message.messages.add(), convert._as_mapping(private))
    for offer in p.trade_offers:
        convert.fill(message.trade_offers.add(), convert._as_mapping(offer))
    for proposal in p.proposals:
        convert.fill(message.proposals.add(), convert._as_mapping(proposal))
    for invitation in p.group_invitations:
        convert.fill(message.group_invitations.add(), convert._as_mapping(invitation))
    for bond in p.bond_requests:
        convert.fill(message.bond_requests.add(), convert._as_mapping(bond))
    message.available_actions.extend(
        convert._available(available) for available in p.available_actions
    )
    for memory in p.memories:
        message.memories.add(tick=p.tick, summary=memory)
    convert.fill(message.agents_here, convert._as_mapping(p.agents_here))
    message.structures_here = p.structures_here
    if p.last_result is not None:
        message.last_result.CopyFrom(convert.result_to_proto(p.last_result))
    if p.extra is not None:
        reflective_extra(message, p.extra)
    return message


def reflective_extra(message: perception_pb2.Perception, extra: PerceptionExtra) -> None:
    for recipe in extra.recipes:
        convert.fill(
            message.recipes.add(),
            {
                "action_type": f"ACTION_TYPE_{recipe.action_type}", "product": recipe.product,
                "inputs": recipe.inputs, "outputs": recipe.outputs,
                "knowledge": recipe.knowledge, "needs_tool": recipe.needs_tool,
                "needs_structure": f"STRUCTURE_KIND_{recipe.needs_structure or 'UNSPECIFIED'}",
            },
        )  # fmt: skip
    for food in extra.foods:
        convert.fill(message.foods.add(), {**convert._as_mapping(food), "food": food.food})
    convert.fill(message.life_terms, convert._as_mapping(extra.life_terms))
    message.not_inherited.extend(extra.not_inherited)
    message.not_teachable.extend(extra.not_teachable)


EXTRAS = {
    "proposals": (ProposalView("p-1", "LAW", "a-1", "Ada", "no theft", 40),),
    "group_invitations": (GroupInvitationView("g-1", "Walkers", "a-2", "Bo"),),
    "bond_requests": (BondRequestView("MARRY", "a-3", "Cy", 12),),
}


def test_direct_conversion_equals_the_reflective_one() -> None:
    state = _busy_world(5)
    seen = {"structures": 0, "trade_offers": 0, "board": 0, "messages": 0, "proposals": 0}
    seen |= {"group_invitations": 0, "bond_requests": 0}
    compared = 0
    for _ in range(40):
        tick.wake(state)
        perceptions = tick.perceive(state)
        sightings = convert.SightingCache()  # as the engine converts: one cache per tick
        for agent_id in sorted(perceptions):
            perception = perceptions[agent_id]
            if compared % 7 == 0:  # the policy proposes nothing and invites rarely: add some
                perception = dataclasses.replace(perception, **EXTRAS)
            direct = convert.perception_to_proto(perception)
            assert direct == reflective_perception(perception), f"tick {state.tick}, {agent_id}"
            assert convert.perception_to_proto(perception, None, sightings) == direct
            compared += 1
            for name in seen:
                seen[name] += len(getattr(direct, name))
        rng = random.Random(f"5:{state.tick}")
        submissions = [
            tick.Submission(agent_id, anything(perceptions[agent_id], rng), order)
            for order, agent_id in enumerate(sorted(perceptions))
        ]
        tick.resolve(state, submissions)
    assert compared > 300
    # The run reached the rarer parts, so the comparison covered them.
    assert all(seen.values()), seen
