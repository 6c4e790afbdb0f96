"""Construction actions: build, repair, demolish, improve a route, deposit, withdraw, claim."""

from __future__ import annotations

import heapq
import math

from engine.core.actions import Action, Rejection, describe_items, reject
from engine.core.context import Phase, add_xp, carry_room, may_use
from engine.core.discovery import experiment
from engine.core.environment import close_market, remove_structure, structure_details
from engine.core.rules import (
    Done,
    Handler,
    need_items,
    need_knowledge,
    pay_toll,
    structure_here,
    toll_due,
    toll_problem,
)
from engine.core.state import PATH_TYPES, Access, Agent, Node, Route, Structure

PRIVATE_KINDS = frozenset({"BASIC_HUT", "STORAGE_PIT", "LEAN_TO", "WALL"})


def check_build(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    kind = phase.config.structures.kinds.get(action.structure)
    if kind is None:
        return reject(
            "INVALID_ACTION",
            f"unknown structure {action.structure!r}; build one of "
            f"{', '.join(sorted(k.lower() for k in phase.config.structures.kinds))}",
        )
    problem = need_items(agent, kind.cost, f"a {action.structure.lower()}")
    if problem:
        return problem
    if action.structure == "FARM_PLOT" and not phase.state.locations[agent.location_id].farmable:
        return reject("UNAVAILABLE_TARGET", "the ground here cannot be farmed; find farmable land")
    if action.structure == "BRIDGE" and bridge_plan(phase, agent) is None:
        return reject(
            "UNAVAILABLE_TARGET",
            "nothing here needs a bridge: every place you know is already joined to this one by a "
            f"route of {phase.config.structures.bridge_travel_ticks} ticks or less; explore further",
        )
    return need_knowledge(agent, kind.blueprint, f"building a {action.structure.lower()}")


def bridge_plan(phase: Phase, agent: Agent) -> tuple[str, str] | None:
    """Where a bridge built here would lead: ("new", place) to the nearest place the builder knows
    that no route joins to here (nearest by travel ticks over the routes the builder can see), or
    ("shorten", route) for the slowest route from here when every known place is already joined;
    None when nothing is slower than a bridge's crossing."""
    state = phase.state
    here = agent.location_id
    bridge_ticks = phase.config.structures.bridge_travel_ticks
    adjacent = {route.other_end(here) for route in state.routes_from(here)}
    targets = agent.known_location_ids - adjacent - {here}
    if targets:
        distance = {here: 0}
        frontier = [(0, here)]
        while frontier:
            ticks, place = heapq.heappop(frontier)
            if ticks > distance.get(place, ticks):
                continue
            for route in state.routes_from(place):
                if route.hidden and route.id not in agent.explored_route_ids:
                    continue
                there = route.other_end(place)
                if ticks + route.travel_ticks < distance.get(there, 1 << 30):
                    distance[there] = ticks + route.travel_ticks
                    heapq.heappush(frontier, (distance[there], there))
        reachable = sorted((distance[t], t) for t in targets if t in distance)
        if reachable:
            return "new", reachable[0][1]
    slow = sorted(
        (-route.travel_ticks, route.id)
        for route in state.routes_from(here)
        if route.travel_ticks > bridge_ticks
        and not route.bridge_id
        and (not route.hidden or route.id in agent.explored_route_ids)
    )
    return ("shorten", slow[0][1]) if slow else None


def _open_bridge(phase: Phase, agent: Agent, bridge: Structure) -> dict[str, object]:
    """The bridge's crossing: a new route, or the slowest route from here made quick."""
    state = phase.state
    plan = bridge_plan(phase, agent)
    assert plan is not None  # checked just before
    ticks = phase.config.structures.bridge_travel_ticks
    if plan[0] == "new":
        route = Route(
            f"route-bridge-{bridge.id}", agent.location_id, plan[1], "WORN_PATH", ticks,
            builder_id=agent.id, built_tick=state.tick, owner_id=agent.id, bridge_id=bridge.id,
        )  # fmt: skip
        state.add_route(route)
        previous = "UNSPECIFIED"
    else:
        route = state.routes[plan[1]]
        bridge.route_before = (route.path_type, route.travel_ticks)
        previous = route.path_type
        route.travel_ticks = ticks
        route.bridge_id = bridge.id
    bridge.route_id = route.id
    agent.explored_route_ids.add(route.id)
    return {
        "route_id": route.id,
        "from_path_type": f"PATH_TYPE_{previous}",
        "to_path_type": f"PATH_TYPE_{route.path_type}",
        "travel_ticks": route.travel_ticks,
    }


def do_build(phase: Phase, agent: Agent, action: Action) -> Done:
    state = phase.state
    kind = phase.config.structures.kinds[action.structure]
    structure = Structure(
        id=state.next_id("structure"),
        kind=action.structure,
        location_id=agent.location_id,
        owner_id=agent.id,
        builder_id=agent.id,
        built_tick=state.tick,
        access=Access(public=action.structure not in PRIVATE_KINDS),
    )
    if action.structure == "WALL":
        # A wall admits its owner, their partner and the groups they belong to now.
        structure.access.allowed_group_ids = set(agent.group_ids)
    state.structures[structure.id] = structure
    location = state.locations[agent.location_id]
    location.structure_ids.append(structure.id)
    for resource, quantity in sorted(kind.cost.items()):
        phase.book.build(agent, structure, resource, quantity)
    if action.structure == "WELL":
        well = phase.config.structures
        node = location.nodes.setdefault("WATER", Node(0, 0, 0))
        node.regen_per_tick += well.well_regeneration
        node.maximum = max(node.maximum, well.well_maximum)
    add_xp(agent, "BUILDING")
    phase.emit("STRUCTURE_BUILT", agent.id, location.id, "structure", structure_details(structure))
    if action.structure == "BRIDGE":
        phase.emit(
            "ROUTE_IMPROVED", agent.id, location.id, "route", _open_bridge(phase, agent, structure)
        )
    if agent.holds("STONE"):
        experiment(phase, agent, "masonry")
    experiment(phase, agent, "build_hut")
    return Done(
        f"built a {action.structure.lower().replace('_', ' ')} [{structure.id}]",
        lost=dict(kind.cost),
        shows=kind.blueprint,
    )


def repair_cost(phase: Phase, structure: Structure) -> dict[str, int]:
    """Materials in proportion to the missing durability (at least 1 of the main material)."""
    cost = phase.config.structures.kinds[structure.kind].cost
    missing = (100.0 - structure.durability) / 100.0
    needs = {r: math.ceil(q * missing) for r, q in cost.items()}
    return {r: q for r, q in needs.items() if q > 0}


def check_repair(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    structure, problem = structure_here(phase.state, agent, action.target_id)
    if problem or structure is None:
        return problem
    needs = repair_cost(phase, structure)
    problem = need_items(agent, needs, "this repair")
    if problem:
        return problem
    if structure.durability >= 100:
        return reject("UNAVAILABLE_TARGET", "that structure needs no repair", durability=100)
    return None


def do_repair(phase: Phase, agent: Agent, action: Action) -> Done:
    structure = phase.state.structures[action.target_id]
    needs = repair_cost(phase, structure)
    for resource, quantity in sorted(needs.items()):
        phase.book.build(agent, structure, resource, quantity)
    structure.durability = 100.0
    add_xp(agent, "BUILDING")
    phase.emit(
        "STRUCTURE_REPAIRED", agent.id, agent.location_id, "structure", structure_details(structure)
    )
    return Done(f"repaired the {structure.kind.lower()}", lost=needs)


def check_demolish(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    structure, problem = structure_here(phase.state, agent, action.target_id)
    if problem or structure is None:
        return problem
    if structure.owner_id and structure.owner_id != agent.id:
        return reject("PERMISSION_DENIED", "only the owner may demolish an owned structure")
    return None


def do_demolish(phase: Phase, agent: Agent, action: Action) -> Done:
    structure = phase.state.structures[action.target_id]
    close_market(phase, structure, "market demolished")
    fraction = phase.config.structures.salvage_fraction
    gained: dict[str, int] = {}
    for holdings in (structure.materials, structure.storage):
        for resource in sorted(holdings):
            quantity = holdings[resource]
            kept = quantity if holdings is structure.storage else math.floor(quantity * fraction)
            kept = min(kept, carry_room(phase.state, agent, resource))
            if kept:
                phase.book.salvage_to_agent(structure, agent, holdings, resource, kept)
                gained[resource] = gained.get(resource, 0) + kept
            rest = holdings.get(resource, 0)
            if rest and holdings is structure.storage:
                phase.book.salvage_to_ground(structure, holdings, resource, rest)
            elif rest:
                phase.book.decay_structure(structure, resource, rest)
    remove_structure(phase.state, structure)
    phase.emit(
        "STRUCTURE_DESTROYED",
        agent.id,
        agent.location_id,
        "structure",
        structure_details(structure, salvaged=gained, cause="demolished"),
    )
    return Done(
        f"demolished the {structure.kind.lower()}, salvaging {describe_items(gained)}",
        gained=gained,
    )


def check_improve_route(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    route = phase.state.routes.get(action.target_id)
    if route is None:
        return reject("INVALID_TARGET", f"no route has the id {action.target_id}")
    if agent.location_id not in (route.from_location_id, route.to_location_id):
        return reject("WRONG_LOCATION", "you must stand at one end of the route to improve it")
    costs = phase.config.routes.upgrade_costs
    if route.path_type not in costs:
        return reject("UNAVAILABLE_TARGET", "this route is already a highway")
    problem = need_items(agent, costs[route.path_type], "this route upgrade")
    if problem:
        return problem
    return need_knowledge(
        agent, "basic_engineering" if route.path_type != "NONE" else "", "road building"
    )


def do_improve_route(phase: Phase, agent: Agent, action: Action) -> Done:
    route = phase.state.routes[action.target_id]
    cost = phase.config.routes.upgrade_costs[route.path_type]
    for resource, quantity in sorted(cost.items()):
        phase.book.build_route(agent, resource, quantity, f"route {route.id} improved")
    previous = route.path_type
    route.path_type = PATH_TYPES[PATH_TYPES.index(previous) + 1]
    base = phase.config.routes.base_travel_ticks[route.path_type]
    route.travel_ticks = min(route.travel_ticks, base)
    route.durability = 100.0
    route.decay_per_tick = phase.config.routes.built_path_decay_per_tick
    route.builder_id = agent.id
    route.built_tick = phase.state.tick
    add_xp(agent, "BUILDING")
    phase.emit(
        "ROUTE_IMPROVED",
        agent.id,
        agent.location_id,
        "route",
        {
            "route_id": route.id,
            "from_path_type": f"PATH_TYPE_{previous}",
            "to_path_type": f"PATH_TYPE_{route.path_type}",
            "travel_ticks": route.travel_ticks,
        },
    )
    return Done(
        f"improved the route to a {route.path_type.lower().replace('_', ' ')}", lost=dict(cost)
    )


def _storage_capacity(phase: Phase, structure: Structure) -> int:
    return phase.config.structures.kinds[structure.kind].storage


def check_deposit(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    structure, problem = structure_here(phase.state, agent, action.target_id)
    if problem or structure is None:
        return problem
    if not action.items:
        return reject("INVALID_ACTION", "deposit needs an item: resource and quantity")
    resource, quantity = action.items[0]
    problem = need_items(agent, {resource: quantity}, "this deposit")
    if problem:
        return problem
    room = _storage_capacity(phase, structure) - sum(structure.storage.values())
    if room < quantity:
        return reject(
            "CAPACITY_EXCEEDED",
            f"the {structure.kind.lower()} has room for {max(0, room)} more",
            room=room,
        )
    if not may_use(phase.state, agent, structure):
        return reject("PERMISSION_DENIED", "this storage belongs to someone else")
    return _storage_toll_problem(phase, agent, structure, {resource: quantity})


def _storage_toll_problem(
    phase: Phase, agent: Agent, structure: Structure, moving: dict[str, int]
) -> Rejection | None:
    """The storage's toll comes on top of what is deposited (a deposit must leave it payable)."""
    toll = structure.access.toll
    if not toll_due(phase.state, agent, toll, structure.owner_id):
        return None
    held = {r: agent.holds(r) - moving.get(r, 0) for r in toll}
    if all(held[r] >= q for r, q in toll.items()):
        return None
    return toll_problem(
        phase.state, agent, [(toll, structure.owner_id, f"the {structure.kind.lower()}")]
    ) or reject(
        "INSUFFICIENT_RESOURCES",
        f"after this deposit you could not pay the {structure.kind.lower()}'s toll of "
        f"{describe_items(toll)}",
        toll=describe_items(toll),
    )


def _pay_storage_toll(phase: Phase, agent: Agent, structure: Structure) -> str:
    paid = pay_toll(
        phase, agent, structure.access.toll, structure.owner_id, f"the {structure.kind.lower()}"
    )
    return f", paying {describe_items(paid)} toll" if paid else ""


def do_deposit(phase: Phase, agent: Agent, action: Action) -> Done:
    structure = phase.state.structures[action.target_id]
    resource, quantity = action.items[0]
    phase.book.deposit(agent, structure, resource, quantity)
    toll = _pay_storage_toll(phase, agent, structure)
    return Done(f"stored {quantity} {resource.lower()}{toll}", lost={resource: quantity})


def check_withdraw(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    structure, problem = structure_here(phase.state, agent, action.target_id)
    if problem or structure is None:
        return problem
    if not action.items:
        return reject("INVALID_ACTION", "withdraw needs an item: resource and quantity")
    resource, quantity = action.items[0]
    if carry_room(phase.state, agent, resource) < quantity:
        return reject("CAPACITY_EXCEEDED", "you cannot carry that much more")
    if structure.kind == "MARKET":
        return reject(
            "PERMISSION_DENIED",
            "goods at a market belong to its standing offers: accept an offer to get them "
            "(trade_accept), or withdraw your own offer (trade_reject)",
        )
    stored = structure.storage.get(resource, 0)
    if stored < quantity:
        return reject(
            "UNAVAILABLE_TARGET", f"only {stored} {resource.lower()} is stored there", stored=stored
        )
    if not may_use(phase.state, agent, structure):
        return reject("PERMISSION_DENIED", "this storage belongs to someone else")
    return toll_problem(
        phase.state,
        agent,
        [(structure.access.toll, structure.owner_id, f"the {structure.kind.lower()}")],
    )


def do_withdraw(phase: Phase, agent: Agent, action: Action) -> Done:
    structure = phase.state.structures[action.target_id]
    resource, quantity = action.items[0]
    toll = _pay_storage_toll(phase, agent, structure)
    phase.book.withdraw(agent, structure, resource, quantity)
    return Done(
        f"took {quantity} {resource.lower()} from storage{toll}", gained={resource: quantity}
    )


def check_claim(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    state = phase.state
    if action.target_id in state.locations:
        if action.target_id != agent.location_id:
            return reject("WRONG_LOCATION", "you can claim only the place where you stand")
        owner = state.locations[action.target_id].owner_id
    elif action.target_id in state.routes:
        route = state.routes[action.target_id]
        if agent.location_id not in (route.from_location_id, route.to_location_id):
            return reject("WRONG_LOCATION", "stand at one end of a route to claim it")
        if route.bridge_id in state.structures:
            return reject(
                "INVALID_TARGET",
                "this route crosses a bridge; claim the bridge itself",
                bridge=route.bridge_id,
            )
        owner = route.owner_id
    else:
        structure, problem = structure_here(state, agent, action.target_id)
        if problem or structure is None:
            return problem
        owner = structure.owner_id
    if owner:
        return reject("UNAVAILABLE_TARGET", "it is already owned", owner=owner)
    return need_knowledge(agent, "territorial_claim", "claiming")


def do_claim(phase: Phase, agent: Agent, action: Action) -> Done:
    state = phase.state
    if action.target_id in state.locations:
        state.locations[action.target_id].owner_id = agent.id
        what = state.locations[action.target_id].name
    elif action.target_id in state.routes:
        route = state.routes[action.target_id]
        route.owner_id = agent.id
        what = f"the route to {state.locations[route.other_end(agent.location_id)].name}"
    else:
        structure = state.structures[action.target_id]
        structure.owner_id = agent.id
        what = f"the {structure.kind.lower()}"
    phase.emit(
        "STRUCTURE_CLAIMED",
        agent.id,
        agent.location_id,
        "structure",
        {"structure_id": action.target_id, "owner_id": agent.id, "cause": "claim"},
    )
    return Done(f"claimed {what}", shows="territorial_claim")


HANDLERS: dict[str, Handler] = {
    "BUILD": Handler(check_build, do_build),
    "REPAIR": Handler(check_repair, do_repair),
    "DEMOLISH": Handler(check_demolish, do_demolish),
    "IMPROVE_ROUTE": Handler(check_improve_route, do_improve_route),
    "DEPOSIT": Handler(check_deposit, do_deposit),
    "WITHDRAW": Handler(check_withdraw, do_withdraw),
    "CLAIM": Handler(check_claim, do_claim),
}
