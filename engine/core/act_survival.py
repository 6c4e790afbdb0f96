"""Survival actions: gather, eat, drink, rest, move, explore, pickup, heal, no action."""

from __future__ import annotations

import math
from collections.abc import Mapping

from engine.core.actions import Action, Rejection, describe_items, reject
from engine.core.context import (
    GATHER_SKILLS,
    Phase,
    add_xp,
    carry_room,
    crossing,
    energy_cap,
    is_child,
    may_use,
    occupancy,
    route_allows,
    skill_level,
    structures_here,
    walls_at,
)
from engine.core.discovery import experience, experiment, learn
from engine.core.knowledge import GATHER_KNOWLEDGE
from engine.core.rules import Done, Handler, need_knowledge, pay_toll, target_here, toll_problem
from engine.core.state import Agent, Route, WorldState

FOODS_RAW = ("BERRY", "ROOT", "FISH", "MEAT")


def gather_yield(phase: Phase, agent: Agent, resource: str) -> int:
    """3 + the good's gathering craft/2 + general gathering/4, ×1.5 with a tool, ×1.5 for food
    in autumn; before node and carry caps."""
    config, state = phase.config, phase.state
    craft = GATHER_SKILLS.get(resource, "")
    amount = config.actions.gather_base_yield + skill_level(state, agent, "GATHERING") / 4
    if craft:
        amount += skill_level(state, agent, craft) / 2
    if agent.holds("TOOL") or agent.holds("ADVANCED_TOOL"):
        amount *= config.actions.tool_gather_multiplier
    if phase.state.season == "AUTUMN" and resource in config.resources.foods:
        amount *= config.seasons.autumn_harvest_yield_multiplier
    return max(1, math.floor(amount))


def check_no_action(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    return None


def do_no_action(phase: Phase, agent: Agent, action: Action) -> Done:
    return Done("you did nothing")


def check_gather(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    resource = action.resource
    location = phase.state.locations[agent.location_id]
    if carry_room(phase.state, agent, resource) <= 0:
        return reject(
            "CAPACITY_EXCEEDED",
            f"you carry as much as you can ({phase.config.resources.carry_capacity}); eat, drop, "
            "deposit or give something first",
            capacity=phase.config.resources.carry_capacity,
        )
    node = location.nodes.get(resource)
    if node is None:
        return reject(
            "UNAVAILABLE_TARGET",
            f"there is no {resource.lower()} to gather at {location.name}",
            resource=resource,
            available=", ".join(
                sorted(r.lower() for r, n in location.nodes.items() if n.available)
            ),
        )
    if node.available <= 0:
        return reject(
            "UNAVAILABLE_TARGET",
            f"the {resource.lower()} at {location.name} is exhausted; it regrows over time",
            resource=resource,
        )
    return need_knowledge(agent, GATHER_KNOWLEDGE.get(resource, "gather_food"), "gathering")


def do_gather(phase: Phase, agent: Agent, action: Action) -> Done:
    # Quantity is decided by the conflict split (tick.py) and passed through action.items.
    quantity = action.items[0][1] if action.items else gather_yield(phase, agent, action.resource)
    location = phase.state.locations[agent.location_id]
    phase.book.gather(agent, location, action.resource, quantity)
    add_xp(agent, "GATHERING")
    if action.resource in GATHER_SKILLS:
        add_xp(agent, GATHER_SKILLS[action.resource])
    phase.emit(
        "RESOURCE_GATHERED",
        agent.id,
        location.id,
        "resource",
        {"resource": f"RESOURCE_{action.resource}", "quantity": quantity, "source_id": location.id},
    )
    if structures_here(phase.state, location.id, "CAMPFIRE") and action.resource in FOODS_RAW:
        experiment(phase, agent, "cooking")
    if action.resource == "CLAY":
        experience(phase, agent, "handled_clay")
    if agent.holds("WOOD") and agent.holds("STONE"):
        experiment(phase, agent, "basic_tools")
    return Done(
        f"gathered {quantity} {action.resource.lower()}",
        gained={action.resource: quantity},
        shows=GATHER_KNOWLEDGE.get(action.resource, ""),
    )


def check_eat(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    if action.resource not in phase.config.resources.foods:
        return reject(
            "INVALID_TARGET",
            f"{action.resource.lower()} is not food; eat one of "
            f"{', '.join(sorted(f.lower() for f in phase.config.resources.foods))}",
            resource=action.resource,
        )
    if agent.holds(action.resource) < 1:
        return reject(
            "INSUFFICIENT_RESOURCES",
            f"you hold no {action.resource.lower()}; gather or trade for food first",
            resource=action.resource,
            holds=0,
        )
    return None


def do_eat(phase: Phase, agent: Agent, action: Action) -> Done:
    food = phase.config.resources.foods[action.resource]
    phase.book.consume(agent, action.resource, 1, f"{agent.name} ate")
    agent.hunger = max(0.0, agent.hunger - food.hunger)
    agent.energy = min(energy_cap(phase.state, agent), agent.energy + food.energy)
    phase.emit(
        "RESOURCE_CONSUMED",
        agent.id,
        agent.location_id,
        "resource",
        {"resource": f"RESOURCE_{action.resource}", "quantity": 1, "source_id": agent.id},
    )
    return Done(f"ate 1 {action.resource.lower()}", lost={action.resource: 1})


def _water_node_here(state: WorldState, agent: Agent) -> bool:
    node = state.locations[agent.location_id].nodes.get("WATER")
    return node is not None and node.available > 0


def check_drink(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    if _water_node_here(phase.state, agent) or agent.holds("WATER"):
        return None
    return reject(
        "INSUFFICIENT_RESOURCES",
        "you hold no water and there is no water source here; carry water or go to one",
        holds=0,
    )


def do_drink(phase: Phase, agent: Agent, action: Action) -> Done:
    location = phase.state.locations[agent.location_id]
    lost: dict[str, int] = {}
    if _water_node_here(phase.state, agent):
        phase.book.consume_node(location, "WATER", 1, f"{agent.name} drank")
        source = location.id
    else:
        phase.book.consume(agent, "WATER", 1, f"{agent.name} drank")
        lost = {"WATER": 1}
        source = agent.id
    agent.thirst = max(0.0, agent.thirst - phase.config.vitals.drink_thirst_removed)
    phase.emit(
        "RESOURCE_CONSUMED",
        agent.id,
        location.id,
        "resource",
        {"resource": "RESOURCE_WATER", "quantity": 1, "source_id": source},
    )
    return Done("drank water", lost=lost)


def check_rest(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    return None


def do_rest(phase: Phase, agent: Agent, action: Action) -> Done:
    """Energy × the best free shelter here (or the place itself) × night; half at low health."""
    state, config = phase.state, phase.config
    location = state.locations[agent.location_id]
    multiplier, shelter_name = location.rest_multiplier, ""
    for structure in structures_here(state, location.id):
        kind = config.structures.kinds[structure.kind]
        if not kind.shelter or not may_use(state, agent, structure):
            continue
        if len(structure.occupant_ids) >= kind.capacity:
            continue
        if kind.rest_multiplier > multiplier:
            multiplier, shelter_name = kind.rest_multiplier, structure.id
    if shelter_name:
        state.structures[shelter_name].occupant_ids.add(agent.id)
        agent.sheltered_in = shelter_name
    gain = config.vitals.rest_energy * multiplier
    if state.is_night:
        gain *= config.time.night_rest_multiplier
    if agent.health < config.vitals.low_health_threshold:
        gain /= 2
    before = agent.energy
    agent.energy = min(energy_cap(state, agent), agent.energy + gain)
    where = " in a shelter" if shelter_name else ""
    return Done(f"rested{where} (+{agent.energy - before:.0f} energy)")


def find_route(state: WorldState, agent: Agent, action: Action) -> Route | None:
    for route in state.routes_from(agent.location_id):
        if not route_visible(agent, route):
            continue
        if action.route_id and route.id != action.route_id:
            continue
        destination = route.other_end(agent.location_id)
        if action.target_id and destination != action.target_id:
            continue
        return route
    return None


def route_visible(agent: Agent, route: Route) -> bool:
    return not route.hidden or route.id in agent.explored_route_ids


def travel_ticks(state: WorldState, agent: Agent, route: Route) -> int:
    ticks = route.travel_ticks
    extra = {
        "RAIN": state.config.weather.rain_extra_travel_ticks,
        "SNOW": state.config.weather.snow_extra_travel_ticks,
    }
    ticks += extra.get(state.weather, 0)
    if is_child(state, agent):
        ticks *= 2
    return max(1, ticks)


def check_move(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    state = phase.state
    if not action.target_id and not action.route_id:
        return reject("INVALID_ACTION", "name a destination_id or a route_id to move along")
    if action.target_id and action.target_id not in state.locations:
        return reject(
            "INVALID_TARGET",
            f"no location has the id {action.target_id}",
            destination=action.target_id,
        )
    route = find_route(state, agent, action)
    if route is None:
        return reject(
            "WRONG_LOCATION",
            "no known route leads from here to there; move to a neighbouring place first",
            destination=action.target_id or action.route_id,
        )
    if state.weather == "STORM":
        return reject("WEATHER_BLOCKED", "a storm blocks all travel this tick; wait it out")
    destination = state.locations[route.other_end(agent.location_id)]
    if occupancy(phase, destination.id) >= destination.capacity:
        return reject(
            "CAPACITY_EXCEEDED",
            f"{destination.name} is full: {destination.capacity} agents are there or on their "
            "way; wait for someone to leave or go elsewhere",
            destination=destination.id,
            capacity=destination.capacity,
        )
    problem = toll_problem(state, agent, move_tolls(state, route, destination.id))
    if problem:
        return problem
    access, _ = crossing(state, route)
    if not route_allows(agent, access):
        return reject("PERMISSION_DENIED", "this route is closed to you", route=route.id)
    for wall in walls_at(state, destination.id):
        if not may_use(state, agent, wall):
            owner = state.agents.get(wall.owner_id)
            return reject(
                "PERMISSION_DENIED",
                f"a wall guards {destination.name}; {owner.name if owner else 'its owner'} has not "
                "let you in (its owner, their partner and their groups may enter)",
                destination=destination.id,
                wall=wall.id,
            )
    return None


def move_tolls(
    state: WorldState, route: Route, destination_id: str
) -> list[tuple[Mapping[str, int], str, str]]:
    """The tolls a move owes: the route's (or its bridge's) and each wall's at the destination."""
    access, owner_id = crossing(state, route)
    name = state.locations[destination_id].name
    tolls: list[tuple[Mapping[str, int], str, str]] = [
        (access.toll, owner_id, f"the route to {name}")
    ]
    for wall in walls_at(state, destination_id):
        tolls.append((wall.access.toll, wall.owner_id, f"the wall of {name}"))
    return tolls


def do_move(phase: Phase, agent: Agent, action: Action) -> Done:
    state = phase.state
    route = find_route(state, agent, action)
    assert route is not None  # checked just before
    destination = route.other_end(agent.location_id)
    ticks = travel_ticks(state, agent, route)
    origin = state.locations[agent.location_id]
    paid: dict[str, int] = {}
    for toll, owner_id, purpose in move_tolls(state, route, destination):
        for resource, quantity in pay_toll(phase, agent, toll, owner_id, purpose).items():
            paid[resource] = paid.get(resource, 0) + quantity
    if phase.occupancy_counts is not None:
        counts = phase.occupancy_counts
        counts[origin.id] = counts.get(origin.id, 0) - 1
        counts[destination] = counts.get(destination, 0) + 1
    origin.agent_ids.discard(agent.id)
    for structure in structures_here(state, origin.id):
        structure.occupant_ids.discard(agent.id)
    agent.sheltered_in = ""
    agent.route_id = route.id
    agent.destination_id = destination
    agent.travel_remaining = ticks
    phase.emit(
        "AGENT_DEPARTED",
        agent.id,
        origin.id,
        "movement",
        {
            "from_location_id": origin.id,
            "to_location_id": destination,
            "route_id": route.id,
            "travel_ticks": ticks,
        },
    )
    name = (
        state.locations[destination].name
        if destination in agent.known_location_ids
        else ("an unexplored place")
    )
    paying = f", paying {describe_items(paid)} toll" if paid else ""
    return Done(f"set out for {name} ({ticks} ticks){paying}", lost=paid)


def check_explore(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    return None


def do_explore(phase: Phase, agent: Agent, action: Action) -> Done:
    """Learn the names of neighbouring places; hidden routes from here show with a seeded chance."""
    state = phase.state
    found: list[str] = []
    chance = phase.config.actions.explore_reveal_chance * (1 + agent.personality["curiosity"] / 2)
    rng = phase.rng(f"explore:{agent.id}")
    for route in state.routes_from(agent.location_id):
        destination = state.locations[route.other_end(agent.location_id)]
        if route.hidden and route.id not in agent.explored_route_ids:
            if rng.random() >= chance:
                continue
            agent.explored_route_ids.add(route.id)
            phase.emit(
                "LOCATION_DISCOVERED",
                agent.id,
                agent.location_id,
                "location",
                {
                    "location_id": destination.id,
                    "location_name": destination.name,
                    "method": "explore",
                },
            )
        if destination.id not in agent.known_location_ids:
            agent.known_location_ids.add(destination.id)
            found.append(destination.name)
    if not found:
        return Done("explored the surroundings and found nothing new")
    return Done(f"explored and found the way to {', '.join(found)}")


def check_pickup(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    if not action.items:
        return reject("INVALID_ACTION", "pickup needs an item: resource and quantity")
    resource, quantity = action.items[0]
    ground = phase.state.locations[agent.location_id].ground.get(resource, 0)
    if carry_room(phase.state, agent, resource) < quantity:
        return reject(
            "CAPACITY_EXCEEDED",
            f"you can carry only {carry_room(phase.state, agent, resource)} more {resource.lower()}",
            room=carry_room(phase.state, agent, resource),
        )
    if ground < quantity:
        return reject(
            "UNAVAILABLE_TARGET",
            f"only {ground} {resource.lower()} lies on the ground here",
            on_ground=ground,
        )
    return None


def do_pickup(phase: Phase, agent: Agent, action: Action) -> Done:
    resource, quantity = action.items[0]
    phase.book.pickup(agent, phase.state.locations[agent.location_id], resource, quantity)
    return Done(f"picked up {quantity} {resource.lower()}", gained={resource: quantity})


def check_heal(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    if action.target_id and action.target_id != agent.id:
        problem = target_here(phase.state, agent, action.target_id, "patient")
        if problem:
            return problem
    if agent.holds("MEDICINE") < 1:
        return reject("INSUFFICIENT_RESOURCES", "healing needs 1 medicine; you hold none", holds=0)
    if action.target_id and action.target_id != agent.id:
        return need_knowledge(agent, "basic_medicine", "healing another")
    return None


def do_heal(phase: Phase, agent: Agent, action: Action) -> Done:
    patient = phase.state.agents.get(action.target_id or agent.id, agent)
    phase.book.consume(agent, "MEDICINE", 1, f"{agent.name} used medicine")
    patient.health = min(
        phase.config.vitals.maximum, patient.health + phase.config.vitals.medicine_health
    )
    add_xp(agent, "MEDICINE")
    cured = cure_plague(phase, patient)
    if patient is not agent:
        from engine.core.context import change_trust

        change_trust(phase, patient, agent.id, phase.config.trust.gift, "healed")
    elif agent.skills.get("MEDICINE", 0) >= 5:
        # Treating yourself often enough teaches the basics.
        learn(phase, agent, "basic_medicine", "EXPERIMENTATION")
    return Done(
        f"healed {patient.name} (+{phase.config.vitals.medicine_health:g} health)"
        + (" and cured the plague" if cured else ""),
        lost={"MEDICINE": 1},
    )


def cure_plague(phase: Phase, patient: Agent) -> bool:
    """Medicine cures the plague of the patient's region: no more loss while this outbreak lasts."""
    state = phase.state
    region = state.locations[patient.location_id].region
    if state.plague_until_tick.get(region, -1) < state.tick:
        return False
    cured = state.plague_cured.setdefault(region, set())
    if patient.id in cured:
        return False
    cured.add(patient.id)
    patient.notifications.append("the medicine cured your plague")
    return True


HANDLERS: dict[str, Handler] = {
    "NO_ACTION": Handler(check_no_action, do_no_action),
    "GATHER": Handler(check_gather, do_gather),
    "EAT": Handler(check_eat, do_eat),
    "DRINK": Handler(check_drink, do_drink),
    "REST": Handler(check_rest, do_rest),
    "MOVE": Handler(check_move, do_move),
    "EXPLORE": Handler(check_explore, do_explore),
    "PICKUP": Handler(check_pickup, do_pickup),
    "HEAL": Handler(check_heal, do_heal),
}
