"""Availability of the actions on the things at a place (structures, storage, plots, claims, tolls):
their facts gathered once per place and tick, then plain boolean tests per agent.

Each test is the passing side of its handler's check, condition for condition (the check itself
builds the readable refusal, and runs only when an action is actually taken). tests/sim holds
the listing against the checks tick after tick.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.core.act_build import bridge_plan, repair_cost
from engine.core.act_craft import RECIPES
from engine.core.act_social import tollable
from engine.core.context import Phase, crossing, may_use
from engine.core.rules import toll_due
from engine.core.state import Agent, Location, Structure

Items = tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Things:
    """What stands at one location this tick, in the order the listing names it."""

    structure_ids: tuple[str, ...]
    repairs: tuple[tuple[str, Items], ...]  # damaged structures and what mending them costs
    owners: tuple[tuple[str, str], ...]  # every structure and its owner (demolish)
    empty_plots: tuple[Structure, ...]  # farm plots with nothing growing
    ripe_plots: tuple[Structure, ...]  # farm plots whose crop is ripe
    open_claims: tuple[str, ...]  # unowned structures, the place if unowned, claimable routes
    withdrawals: tuple[tuple[Structure, str], ...]  # (storage, a resource stored there)
    storages: tuple[Structure, ...]  # storage with room for one more unit
    workshops: tuple[Structure, ...]
    forge: bool
    markets: tuple[Structure, ...]
    tolls: tuple[tuple[str, str], ...]  # (route or structure id, who may set its toll)


def gather_things(phase: Phase, location: Location, structures: tuple[Structure, ...]) -> Things:
    state = phase.state
    kinds = phase.config.structures.kinds
    claims = [s.id for s in structures if not s.owner_id]
    if not location.owner_id:
        claims.append(location.id)
    for route_id in state.adjacency.get(location.id, ()):
        route = state.routes[route_id]
        if route.bridge_id not in state.structures and not route.owner_id:
            claims.append(route_id)
    tolls = [(route.id, crossing(state, route)[1]) for route in state.routes_from(location.id)]
    tolls += [
        (sid, state.structures[sid].owner_id)
        for sid in location.structure_ids
        if sid in state.structures
        and state.structures[sid].kind != "MARKET"
        and tollable(phase, state.structures[sid])
    ]
    return Things(
        structure_ids=tuple(s.id for s in structures),
        repairs=tuple(
            (s.id, tuple(repair_cost(phase, s).items())) for s in structures if s.durability < 100
        ),
        owners=tuple((s.id, s.owner_id) for s in structures),
        empty_plots=tuple(s for s in structures if s.kind == "FARM_PLOT" and not s.crop_ripe_tick),
        ripe_plots=tuple(
            s
            for s in structures
            if s.kind == "FARM_PLOT" and s.crop_ripe_tick and s.crop_ripe_tick <= state.tick
        ),
        open_claims=tuple(claims),
        withdrawals=tuple(
            (s, resource)
            for s in structures
            if s.kind != "MARKET"
            for resource in sorted(s.storage)
            if s.storage[resource] >= 1
        ),
        storages=tuple(
            s for s in structures if kinds[s.kind].storage - sum(s.storage.values()) >= 1
        ),
        workshops=tuple(s for s in structures if s.kind == "WORKSHOP"),
        forge=any(s.kind == "FORGE" for s in structures),
        markets=tuple(s for s in structures if s.kind == "MARKET"),
        tolls=tuple(tolls),
    )


def _holds(inventory: dict[str, int], items: Items) -> bool:
    return all(inventory.get(resource, 0) >= quantity for resource, quantity in items)


def _toll_payable(phase: Phase, agent: Agent, structure: Structure, moving: str = "") -> bool:
    """The storage's toll is not owed, or the agent can pay it (after moving one unit out)."""
    toll = structure.access.toll
    if not toll_due(phase.state, agent, toll, structure.owner_id):
        return True
    inventory = agent.inventory
    return all(
        inventory.get(resource, 0) - (resource == moving) >= quantity
        for resource, quantity in toll.items()
    )


def structure_options(
    phase: Phase, agent: Agent, things: Things, free: int, claims: bool
) -> dict[str, tuple[str, ...]]:
    """The options that pass, by action type (types with none are left out). `free` is the
    agent's free carrying capacity; `claims` whether they know how to claim."""
    state = phase.state
    inventory = agent.inventory
    knowledge = agent.knowledge
    weights = phase.config.resources.weights
    me = agent.id
    found: dict[str, tuple[str, ...]] = {}

    def put(action_type: str, options: tuple[str, ...]) -> None:
        if options:
            found[action_type] = options

    put("REPAIR", tuple(sid for sid, needs in things.repairs if _holds(inventory, needs)))
    put("DEMOLISH", tuple(sid for sid, owner in things.owners if not owner or owner == me))
    if "agriculture" in knowledge:
        if inventory.get("BERRY", 0) >= phase.config.farming.seed_quantity:
            put("FARM_PLANT", tuple(p.id for p in things.empty_plots if may_use(state, agent, p)))
        if free // weights.get("FARMED", 1) > 0:
            put("FARM_HARVEST", tuple(p.id for p in things.ripe_plots if may_use(state, agent, p)))
    if claims:
        put("CLAIM", things.open_claims)
    put(
        "WITHDRAW",
        tuple(
            s.id
            for s, resource in things.withdrawals
            if free // weights.get(resource, 1) >= 1
            and may_use(state, agent, s)
            and _toll_payable(phase, agent, s)
        ),
    )
    first = min(inventory) if inventory else ""
    if first and inventory[first] >= 1:
        put(
            "DEPOSIT",
            tuple(
                s.id
                for s in things.storages
                if may_use(state, agent, s) and _toll_payable(phase, agent, s, first)
            ),
        )
    if things.workshops and any(may_use(state, agent, s) for s in things.workshops):
        put(
            "CRAFT",
            tuple(
                item
                for item, recipe in sorted(RECIPES.items())
                if (not recipe.knowledge or recipe.knowledge in knowledge)
                and _holds(inventory, tuple(recipe.inputs.items()))
            ),
        )
    if things.forge and "smelting" in knowledge:
        config = phase.config.actions
        if inventory.get("ORE", 0) >= config.smelt_ore and inventory.get("WOOD", 0) >= (
            config.smelt_wood
        ):
            found["SMELT"] = ("",)
    return found


def buildable(phase: Phase, agent: Agent, kind: str, blueprint: str, farmable: bool) -> bool:
    """The build check past the materials (the caller has tested those): the blueprint known,
    farmable ground for a plot, somewhere for a bridge to lead."""
    if blueprint and blueprint not in agent.knowledge:
        return False
    if kind == "FARM_PLOT" and not farmable:
        return False
    return kind != "BRIDGE" or bridge_plan(phase, agent) is not None


def market_options(phase: Phase, agent: Agent, things: Things) -> tuple[str, ...]:
    """Markets here that take a standing offer of one unit of what the agent holds."""
    inventory = agent.inventory
    if not inventory or inventory[min(inventory)] < 1 or "basic_trade" not in agent.knowledge:
        return ()
    return tuple(m.id for m in things.markets if may_use(phase.state, agent, m))


def toll_options(agent: Agent, things: Things) -> tuple[str, ...]:
    """Routes from here and structures here whose toll this agent, their owner, may set."""
    return tuple(target for target, owner in things.tolls if owner == agent.id)
