"""Operator-injected world events (world spec §11) applied as inputs to the current tick.

Call between wake and perceive; the returned events and entries belong to the current tick.
Bad parameters raise WorldEventError with a message naming the parameter and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from engine.core.context import Phase, notify
from engine.core.discovery import learn
from engine.core.environment import collapse
from engine.core.knowledge import all_items
from engine.core.state import Route, WorldState
from engine.core.tick import PhaseOutcome
from engine.core.world import RESOURCE_NAMES, born_event, create_agent

KINDS = (
    "natural_disaster", "resource_boom", "plague", "migration", "technology_gift",
    "resource_depletion", "contact", "internet_unlock",
)  # fmt: skip
DISASTER_DURABILITY_LOSS = 50.0  # invented: a disaster halves what stands
DISASTER_HEALTH_LOSS = 20.0  # invented
DISASTER_NODE_LOSS = 0.3  # invented: 30 % of every node's stock is scattered and lost


class WorldEventError(ValueError):
    """An injected event's parameters are wrong; the message says which and what to do."""


def apply_world_event(state: WorldState, kind: str, parameters: Mapping[str, str]) -> PhaseOutcome:
    phase = Phase(state)
    handler = HANDLERS.get(kind)
    if handler is None:
        raise WorldEventError(f"unknown world event {kind!r}; choose one of {', '.join(KINDS)}")
    region, location_id = handler(phase, parameters)
    phase.emit(
        "WORLD_EVENT",
        location_id=location_id,
        detail_kind="world_event",
        details={
            "kind": kind,
            "parameters": dict(parameters),
            "region": region,
            "location_id": location_id,
        },
    )
    return PhaseOutcome(phase.events, phase.book.entries)


def _region(state: WorldState, parameters: Mapping[str, str], key: str = "region") -> str:
    region = parameters.get(key, "")
    regions = sorted({location.region for location in state.locations.values()})
    if region not in regions:
        raise WorldEventError(
            f"{key} {region!r} is not a region; choose one of {', '.join(regions)}"
        )
    return region


def _location(state: WorldState, parameters: Mapping[str, str]) -> str:
    location_id = parameters.get("location_id", "")
    if location_id not in state.locations:
        raise WorldEventError(f"location_id {location_id!r} is not a location of this world")
    return location_id


def _ticks(parameters: Mapping[str, str]) -> int:
    raw = parameters.get("ticks", "10")
    if not raw.isdigit() or int(raw) <= 0:
        raise WorldEventError(f"ticks must be a positive whole number, got {raw!r}")
    return int(raw)


def natural_disaster(phase: Phase, parameters: Mapping[str, str]) -> tuple[str, str]:
    state = phase.state
    region = _region(state, parameters)
    for structure_id in sorted(state.structures):
        structure = state.structures[structure_id]
        if state.locations[structure.location_id].region != region:
            continue
        structure.durability = max(0.0, structure.durability - DISASTER_DURABILITY_LOSS)
        if structure.durability <= 0:
            collapse(phase, structure, "natural disaster")
    for location_id in sorted(state.locations):
        location = state.locations[location_id]
        if location.region != region:
            continue
        for resource in sorted(location.nodes):
            lost = math.floor(location.nodes[resource].available * DISASTER_NODE_LOSS)
            if lost:
                phase.book.decay_node(location, resource, lost, "natural disaster")
        for agent_id in sorted(location.agent_ids):
            agent = state.agents[agent_id]
            agent.health = max(0.0, agent.health - DISASTER_HEALTH_LOSS)
            agent.last_injury = "injury"
            notify(agent, f"a disaster struck {location.name}")
    return region, ""


def resource_boom(phase: Phase, parameters: Mapping[str, str]) -> tuple[str, str]:
    location_id = _location(phase.state, parameters)
    phase.state.locations[location_id].boom_until_tick = phase.state.tick + _ticks(parameters)
    return phase.state.locations[location_id].region, location_id


def plague(phase: Phase, parameters: Mapping[str, str]) -> tuple[str, str]:
    region = _region(phase.state, parameters)
    phase.state.plague_until_tick[region] = phase.state.tick + _ticks(parameters)
    phase.state.plague_cured[region] = set()  # a new outbreak: earlier cures do not hold
    for agent in phase.state.living_agents():
        if phase.state.locations[agent.location_id].region == region:
            notify(agent, "plague has broken out here; medicine cures it")
    return region, ""


def migration(phase: Phase, parameters: Mapping[str, str]) -> tuple[str, str]:
    """Newcomers arrive at the world's edge: the visible location with the fewest routes."""
    state = phase.state
    raw = parameters.get("count", "1")
    if not raw.isdigit() or not 0 < int(raw) <= 1000:
        raise WorldEventError(f"count must be a whole number from 1 to 1000, got {raw!r}")
    edge = min(
        (loc for loc in state.locations.values() if not loc.hidden),
        key=lambda loc: (len(state.adjacency.get(loc.id, [])), loc.id),
    )
    rng = phase.rng("migration")
    for _ in range(int(raw)):
        agent = create_agent(state, rng, edge.id, generation=0, parents=())
        phase.events.append(born_event(state, agent, "migration"))
    return edge.region, edge.id


def technology_gift(phase: Phase, parameters: Mapping[str, str]) -> tuple[str, str]:
    state = phase.state
    item = parameters.get("knowledge", "")
    if item not in all_items():
        raise WorldEventError(f"knowledge {item!r} is not an item of the knowledge tree")
    candidates = [agent for agent in state.living_agents() if item not in agent.knowledge]
    if candidates:
        chosen = phase.rng("technology-gift").choice(candidates)
        learn(phase, chosen, item, "GIFT")
        return state.locations[chosen.location_id].region, chosen.location_id
    return "", ""


def resource_depletion(phase: Phase, parameters: Mapping[str, str]) -> tuple[str, str]:
    state = phase.state
    location_id = _location(state, parameters)
    resource = parameters.get("resource", "").removeprefix("RESOURCE_")
    location = state.locations[location_id]
    if resource not in RESOURCE_NAMES or resource not in location.nodes:
        raise WorldEventError(
            f"{location.name} has no {resource.lower() or 'such'} node to deplete"
        )
    remaining = location.nodes[resource].available
    if remaining:
        phase.book.decay_node(location, resource, remaining, "resource depleted")
    del location.nodes[resource]
    return location.region, location_id


def contact(phase: Phase, parameters: Mapping[str, str]) -> tuple[str, str]:
    state = phase.state
    first, second = _region(state, parameters, "region_a"), _region(state, parameters, "region_b")
    if first == second:
        raise WorldEventError("contact needs two different regions")
    ends = []
    for region in (first, second):
        ends.append(
            min(
                loc.id
                for loc in state.locations.values()
                if loc.region == region and not loc.hidden
            )
        )
    route = Route(f"route-contact-{ends[0]}-{ends[1]}", ends[0], ends[1], "NONE", 8)
    if route.id not in state.routes:
        state.add_route(route)
    return first, ends[0]


def internet_unlock(phase: Phase, parameters: Mapping[str, str]) -> tuple[str, str]:
    phase.state.internet_unlocked = True
    for agent in phase.state.living_agents():
        notify(agent, "a world-wide board now connects everyone")
    return "", ""


HANDLERS = {
    "natural_disaster": natural_disaster,
    "resource_boom": resource_boom,
    "plague": plague,
    "migration": migration,
    "technology_gift": technology_gift,
    "resource_depletion": resource_depletion,
    "contact": contact,
    "internet_unlock": internet_unlock,
}
