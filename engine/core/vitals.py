"""Wake phase, the agents' part: hunger, thirst, ageing, dangers, travel progress and death."""

from __future__ import annotations

from engine.core.context import Phase, energy_cap, notify
from engine.core.events import amounts
from engine.core.state import SEASONS, Agent, WorldState


def apply_vitals(phase: Phase) -> None:
    state = phase.state
    vitals = state.config.vitals
    hunger_rate = vitals.hunger_per_tick * state.config.seasons.hunger[SEASONS.index(state.season)]
    for agent in state.living_agents():
        agent.hunger = min(vitals.maximum, agent.hunger + hunger_rate)
        agent.thirst = min(vitals.maximum, agent.thirst + vitals.thirst_per_tick)
        if agent.hunger >= vitals.maximum:
            agent.health -= vitals.starvation_health_loss
        if agent.thirst >= vitals.maximum:
            agent.health -= vitals.dehydration_health_loss
        if not agent.in_transit:
            _dangers(phase, agent)
            if agent.health > 0:  # the mortally hurt do not heal back before death is checked
                _heal(phase, agent)
        agent.energy = min(agent.energy, energy_cap(state, agent))
        agent.health = round(max(0.0, min(vitals.maximum, agent.health)), 4)
        _warn(phase, agent)


def _dangers(phase: Phase, agent: Agent) -> None:
    state = phase.state
    location = state.locations[agent.location_id]
    danger = state.config.danger
    if location.danger > 0 and phase.rng(f"danger:{agent.id}").random() < location.danger:
        damage = location.burn_damage or danger.injury_damage
        agent.health -= damage
        agent.last_injury = "burn" if location.burn_damage else "injury"
        notify(agent, f"you were hurt at {location.name} (-{damage:g} health)")
    if state.plague_until_tick.get(
        location.region, -1
    ) >= state.tick and agent.id not in state.plague_cured.get(location.region, ()):
        agent.health -= danger.plague_health_loss
        agent.last_injury = "disease"
        notify(
            agent,
            f"the plague weakens you (-{danger.plague_health_loss:g} health); medicine cures it",
        )


def _heal(phase: Phase, agent: Agent) -> None:
    state = phase.state
    vitals = state.config.vitals
    location = state.locations[agent.location_id]
    sheltered = bool(agent.sheltered_in) or location.rest_multiplier > 1.0
    fed = agent.hunger < 50 and agent.thirst < 50
    if fed and sheltered and agent.energy > 50:
        agent.health += vitals.heal_per_tick
    elif fed:
        agent.health += vitals.passive_heal_per_tick


def _warn(phase: Phase, agent: Agent) -> None:
    if agent.thirst >= 70:
        notify(agent, "thirst is dangerous: drink soon")
    if agent.hunger >= 70:
        notify(agent, "hunger is dangerous: eat soon")
    if agent.health <= 30:
        notify(agent, "your health is low")
    days = phase.state.days_until_season_change()
    next_season = SEASONS[(SEASONS.index(phase.state.season) + 1) % 4]
    # Told from the start of autumn (what elders would say), so that a first winter can be stocked
    # for while autumn's harvest lasts, not only in its last month.
    if next_season == "WINTER" and days in (85, 60, 30, 12, 3):
        notify(agent, f"winter in {days} days: food will be scarce")


def advance_travel(phase: Phase) -> None:
    """Travellers move one tick closer; arrivals join the destination and learn it."""
    state = phase.state
    for agent in state.living_agents():
        if not agent.in_transit:
            continue
        agent.travel_remaining -= 1
        if agent.travel_remaining > 0:
            continue
        origin = agent.location_id
        destination = state.locations[agent.destination_id]
        agent.location_id = destination.id
        destination.agent_ids.add(agent.id)
        agent.known_location_ids.add(destination.id)
        agent.explored_route_ids.add(agent.route_id)
        phase.emit(
            "AGENT_ARRIVED",
            agent.id,
            destination.id,
            "movement",
            {
                "from_location_id": origin,
                "to_location_id": destination.id,
                "route_id": agent.route_id,
            },
        )
        if destination.hidden:
            phase.emit(
                "LOCATION_DISCOVERED",
                agent.id,
                destination.id,
                "location",
                {
                    "location_id": destination.id,
                    "location_name": destination.name,
                    "method": "travel",
                },
            )
        agent.route_id = ""
        agent.destination_id = ""
        if destination.reveals_adjacent_regions:
            _look_out(state, agent)


def _look_out(state: WorldState, agent: Agent) -> None:
    """From a lookout an agent sees every visible location of its region and the regions next to it."""
    here = state.locations[agent.location_id]
    regions = {here.region}
    for route in state.routes.values():
        ends = (state.locations[route.from_location_id], state.locations[route.to_location_id])
        if not route.hidden and here.region in (ends[0].region, ends[1].region):
            regions.update(end.region for end in ends)
    for location in state.locations.values():
        if location.region in regions and not location.hidden:
            agent.known_location_ids.add(location.id)


def check_deaths(phase: Phase) -> None:
    state = phase.state
    for agent in state.living_agents():
        if agent.health <= 0:
            kill(phase, agent, _cause(state, agent))
        elif agent.age(state.tick) >= agent.lifespan:
            kill(phase, agent, "OLD_AGE")


def _cause(state: WorldState, agent: Agent) -> str:
    maximum = state.config.vitals.maximum
    if agent.thirst >= maximum:
        return "DEHYDRATION"
    if agent.hunger >= maximum:
        return "STARVATION"
    if agent.last_injury == "disease":
        return "DISEASE"
    if agent.last_injury == "burn":
        return "EXPOSURE"
    return "INJURY"


def kill(phase: Phase, agent: Agent, cause: str) -> None:
    """Death: inventory drops here, structures become unowned, acquaintances are told."""
    state = phase.state
    agent.alive = False
    state.living_ids.discard(agent.id)
    agent.died_tick = state.tick
    agent.death_cause = cause
    dropped = dict(agent.inventory)
    if agent.in_transit:
        # Died on the road: the body and its goods are found where the journey began.
        agent.travel_remaining = 0
        agent.route_id = ""
        agent.destination_id = ""
    location = state.locations[agent.location_id]
    for resource in sorted(dropped):
        phase.book.drop(agent, location, resource, dropped[resource], f"{agent.name} died")
    location.agent_ids.discard(agent.id)
    orphaned = []
    for structure_id in sorted(state.structures):
        structure = state.structures[structure_id]
        structure.occupant_ids.discard(agent.id)
        if structure.owner_id == agent.id:
            structure.owner_id = ""
            orphaned.append(structure_id)
    for route_id in sorted(state.routes):
        if state.routes[route_id].owner_id == agent.id:
            state.routes[route_id].owner_id = ""
    for group in state.groups.values():
        group.member_ids.discard(agent.id)
        group.invited_ids.discard(agent.id)
    if agent.partner_id and agent.partner_id in state.agents:
        state.agents[agent.partner_id].partner_id = ""
    for other in state.living_agents():
        if agent.id in other.relationships:
            notify(other, f"{agent.name} died ({cause.lower().replace('_', ' ')})")
    phase.emit(
        "AGENT_DIED",
        agent.id,
        location.id,
        "agent_died",
        {
            "cause": f"DEATH_CAUSE_{cause}",
            "final_age": agent.age(state.tick),
            "dropped": amounts(dropped),
            "orphaned_structure_ids": orphaned,
        },
    )
