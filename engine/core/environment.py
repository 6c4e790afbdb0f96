"""Wake phase, the world's part: clock, season, weather, regeneration, decay, crops, world events."""

from __future__ import annotations

import math

from engine.core.config import ResourceConfig
from engine.core.context import Phase, notify
from engine.core.events import amounts
from engine.core.state import (
    PATH_TYPES,
    SEASONS,
    Agent,
    Location,
    Structure,
    TradeOffer,
    WorldState,
)

WEATHERS = ("CLEAR", "RAIN", "STORM", "DROUGHT", "SNOW")


def season_of(state: WorldState, tick: int) -> str:
    return SEASONS[(tick // state.config.time.season_length_ticks) % len(SEASONS)]


def advance_clock(phase: Phase) -> None:
    """Tick +1; a season change is an event and teaches gatherers the rhythm of the seasons."""
    state = phase.state
    state.tick += 1
    season = season_of(state, state.tick)
    if season != state.season:
        phase.emit(
            "SEASON_CHANGED",
            detail_kind="season",
            details={
                "previous": f"SEASON_{state.season}",
                "current": f"SEASON_{season}",
                "year": state.year,
            },
        )
        state.season = season
        for agent in state.living_agents():
            if agent.skills.get("GATHERING", 0) > 0:
                agent.knowledge.add("observe_seasons")
    roll_weather(phase)


def roll_weather(phase: Phase) -> None:
    state = phase.state
    weights_by_season = {
        "SPRING": state.config.weather.spring_weights,
        "SUMMER": state.config.weather.summer_weights,
        "AUTUMN": state.config.weather.autumn_weights,
        "WINTER": state.config.weather.winter_weights,
    }
    weights = weights_by_season[state.season]
    weather = phase.rng("weather").choices(WEATHERS, weights=weights)[0]
    if weather != state.weather:
        phase.emit(
            "WEATHER_CHANGED",
            detail_kind="weather",
            details={"previous": f"WEATHER_{state.weather}", "current": f"WEATHER_{weather}"},
        )
        state.weather = weather


WILD_PLANTS = frozenset({"BERRY", "ROOT", "FIBER", "MEDICINE"})


def crowded_regrowth(state: WorldState, location: Location) -> float:
    """1 up to half the place's capacity, falling linearly to the configured share when full."""
    half = max(1, location.capacity) / 2
    crowd = len(location.agent_ids)
    if crowd <= half:
        return 1.0
    floor = state.config.seasons.crowded_plant_regeneration
    return max(floor, 1.0 - (1.0 - floor) * (crowd - half) / half)


def regenerate(phase: Phase) -> None:
    """Nodes regrow by regen × season (× drought for water, × boom, × crowding for wild plants),
    carrying fractions, up to max."""
    state = phase.state
    season_multiplier = state.config.seasons.regeneration[SEASONS.index(state.season)]
    for location_id in sorted(state.locations):
        location = state.locations[location_id]
        boom = 2.0 if location.boom_until_tick >= state.tick else 1.0
        crowding = crowded_regrowth(state, location)
        for resource in sorted(location.nodes):
            node = location.nodes[resource]
            if node.regen_per_tick <= 0 or node.available >= node.maximum:
                node.carry = 0.0
                continue
            multiplier = season_multiplier * boom
            if resource in WILD_PLANTS:
                multiplier *= crowding
            if resource == "WATER" and state.weather == "DROUGHT":
                multiplier *= state.config.weather.drought_water_regeneration_multiplier
            amount = node.regen_per_tick * multiplier + node.carry
            whole = math.floor(amount)
            node.carry = amount - whole
            whole = min(whole, node.maximum - node.available)
            phase.book.regenerate(location, resource, whole)


def decay_structures(phase: Phase) -> None:
    state = phase.state
    weather = state.config.weather
    multiplier = {"STORM": weather.storm_decay_multiplier, "SNOW": weather.snow_decay_multiplier}
    weather_factor = multiplier.get(state.weather, 1.0)
    for structure_id in sorted(state.structures):
        structure = state.structures[structure_id]
        kind = state.config.structures.kinds[structure.kind]
        rate = kind.decay_per_tick * weather_factor
        if structure.occupant_ids:
            rate *= state.config.structures.occupied_decay_multiplier
        structure.durability = round(max(0.0, structure.durability - rate), 4)
        if structure.durability <= 0:
            collapse(phase, structure, "decay")
    decay_routes(phase)
    grow_crops(phase)
    spoil_food(phase)


def spoil_food(phase: Phase) -> None:
    """Food goes off: a fraction per tick of what agents carry, what lies on the ground and what
    storage holds (a quarter as fast there), halved for those who know food preservation and in
    winter. Whole units spoil, the fraction decided by one seeded draw per holding."""
    state, resources = phase.state, phase.config.resources
    rng = phase.rng("spoilage")
    season = resources.winter_spoilage_multiplier if state.season == "WINTER" else 1.0

    def spoiled(held: int, resource: str, multiplier: float) -> int:
        rate = resources.spoilage_per_tick.get(resource, 0.0) * multiplier * season
        return min(held, math.floor(held * rate + rng.random())) if rate > 0 and held else 0

    for agent in state.living_agents():
        lost: dict[str, int] = {}
        for resource in sorted(resources.spoilage_per_tick):
            count = spoiled(agent.holds(resource), resource, _preserving(agent, resources))
            if count:
                phase.book.consume(agent, resource, count, "spoiled")
                lost[resource] = count
        if lost:
            notify(agent, f"food spoiled: {amounts_text(lost)}")
    for structure_id in sorted(state.structures):
        structure = state.structures[structure_id]
        kind = phase.config.structures.kinds[structure.kind]
        if kind.storage <= 0 or structure.kind == "MARKET":
            continue  # a market's goods are traders' offers held in trust
        owner = state.agents.get(structure.owner_id)
        multiplier = resources.storage_spoilage_multiplier * (
            _preserving(owner, resources) if owner is not None else 1.0
        )
        for resource in sorted(structure.storage):
            count = spoiled(structure.storage[resource], resource, multiplier)
            if count:
                phase.book.decay_storage(structure, resource, count)
    for location_id in sorted(state.locations):
        location = state.locations[location_id]
        for resource in sorted(location.ground):
            count = spoiled(location.ground[resource], resource, 1.0)
            if count:
                phase.book.decay_ground(location, resource, count)


def _preserving(agent: Agent, resources: ResourceConfig) -> float:
    return (
        resources.preservation_spoilage_multiplier
        if "food_preservation" in agent.knowledge
        else 1.0
    )


def amounts_text(items: dict[str, int]) -> str:
    return ", ".join(
        f"{quantity} {resource.lower()}" for resource, quantity in sorted(items.items())
    )


def close_market(phase: Phase, structure: Structure, reason: str) -> None:
    """A market that goes returns the goods of its standing offers to their living offerers."""
    state = phase.state
    for trade_id in sorted(state.trades):
        offer = state.trades[trade_id]
        if offer.market_id == structure.id:
            end_standing_offer(phase, offer, reason)


def end_standing_offer(phase: Phase, offer: TradeOffer, reason: str) -> None:
    """Withdrawn, lapsed or orphaned: the offer's goods leave the market (to a living offerer,
    else onto the ground there) and the offer is gone."""
    state = phase.state
    market = state.structures.get(offer.market_id)
    offerer = state.agents[offer.from_agent_id]
    if market is not None:
        for resource, quantity in sorted(offer.give.items()):
            held = min(quantity, market.storage.get(resource, 0))
            if held <= 0:
                continue
            if offerer.alive:
                phase.book.withdraw(offerer, market, resource, held)
            else:
                phase.book.salvage_to_ground(market, market.storage, resource, held)
    del state.trades[offer.id]
    phase.emit(
        "TRADE_FAILED", offer.from_agent_id, market.location_id if market else "", "trade",
        {"trade_id": offer.id, "offerer_id": offer.from_agent_id, "accepter_id": "",
         "given": amounts(offer.give), "received": amounts(offer.want), "reason": reason},
    )  # fmt: skip


def collapse(phase: Phase, structure: Structure, cause: str) -> None:
    """At durability 0: 30 % of materials and all stored goods drop here, the rest is lost."""
    state = phase.state
    close_market(phase, structure, "market destroyed")
    salvage_fraction = state.config.structures.salvage_fraction
    salvaged: dict[str, int] = {}
    for resource in sorted(structure.materials):
        quantity = structure.materials[resource]
        kept = math.floor(quantity * salvage_fraction)
        if kept:
            phase.book.salvage_to_ground(structure, structure.materials, resource, kept)
            salvaged[resource] = kept
        if quantity - kept:
            phase.book.decay_structure(structure, resource, quantity - kept)
    for resource in sorted(structure.storage):
        quantity = structure.storage[resource]
        phase.book.salvage_to_ground(structure, structure.storage, resource, quantity)
        salvaged[resource] = salvaged.get(resource, 0) + quantity
    remove_structure(state, structure)
    phase.emit(
        "STRUCTURE_DESTROYED",
        structure.owner_id,
        structure.location_id,
        "structure",
        structure_details(structure, salvaged=salvaged, cause=cause),
    )
    for agent_id in sorted(structure.occupant_ids):
        notify(state.agents[agent_id], f"the {structure.kind.lower()} you sheltered in collapsed")


def remove_structure(state: WorldState, structure: Structure) -> None:
    location = state.locations[structure.location_id]
    if structure.id in location.structure_ids:
        location.structure_ids.remove(structure.id)
    for agent_id in structure.occupant_ids:
        state.agents[agent_id].sheltered_in = ""
    if structure.kind == "BRIDGE" and structure.route_id in state.routes:
        # The crossing goes with the bridge: a route it made disappears, one it shortened is slow
        # again (travellers already on it still arrive).
        path_type, ticks = structure.route_before
        if path_type:
            route = state.routes[structure.route_id]
            route.path_type, route.travel_ticks, route.bridge_id = path_type, ticks, ""
        else:
            state.remove_route(structure.route_id)
    if structure.kind == "WELL" and "WATER" in location.nodes:
        node = location.nodes["WATER"]
        node.regen_per_tick = max(
            0, node.regen_per_tick - state.config.structures.well_regeneration
        )
    del state.structures[structure.id]


def structure_details(
    structure: Structure, *, salvaged: dict[str, int] | None = None, cause: str = ""
) -> dict[str, object]:

    return {
        "structure_id": structure.id,
        "kind": f"STRUCTURE_KIND_{structure.kind}",
        "owner_id": structure.owner_id,
        "durability": structure.durability,
        "materials": amounts(structure.materials),
        "salvaged": amounts(salvaged or {}),
        "cause": cause,
    }


def decay_routes(phase: Phase) -> None:
    """Built paths wear; at 0 durability they fall back one path type and are whole again."""
    state = phase.state
    base_ticks = state.config.routes.base_travel_ticks
    for route_id in sorted(state.routes):
        route = state.routes[route_id]
        if route.path_type == "NONE" or route.decay_per_tick <= 0:
            continue
        route.durability = round(route.durability - route.decay_per_tick, 4)
        if route.durability <= 0:
            previous = route.path_type
            route.path_type = PATH_TYPES[max(0, PATH_TYPES.index(previous) - 1)]
            route.travel_ticks = max(route.travel_ticks, base_ticks[route.path_type])
            route.durability = 100.0
            phase.emit(
                "ROUTE_IMPROVED",
                detail_kind="route",
                details={
                    "route_id": route.id,
                    "from_path_type": f"PATH_TYPE_{previous}",
                    "to_path_type": f"PATH_TYPE_{route.path_type}",
                    "travel_ticks": route.travel_ticks,
                },
            )


def grow_crops(phase: Phase) -> None:
    """Weather moves ripening: drought and snow stop growth, rain speeds it, storms may ruin it."""
    state = phase.state
    weather = state.config.weather
    for structure_id in sorted(state.structures):
        structure = state.structures[structure_id]
        if structure.kind != "FARM_PLOT" or not structure.crop_ripe_tick:
            continue
        if structure.crop_ripe_tick <= state.tick:
            continue
        if state.weather in ("DROUGHT", "SNOW"):
            structure.crop_ripe_tick += 1
        elif state.weather == "RAIN":
            if phase.rng(f"rain-growth:{structure.id}").random() < 0.25:
                structure.crop_ripe_tick -= 1
        elif state.weather == "STORM":
            roll = phase.rng(f"storm-crop:{structure.id}").random()
            if roll < weather.storm_crop_damage_chance:
                structure.crop_ripe_tick = 0
                structure.crop_planted_by = ""
