"""The working context of one phase (state, book, events, seeded RNG) and shared rule helpers."""

from __future__ import annotations

import random
from collections.abc import Mapping

from emergence.mesh.ids import derive_rng
from engine.core.book import Book
from engine.core.events import DomainEvent
from engine.core.state import Access, Agent, Route, Structure, WorldState


class Phase:
    """Collects the events and ledger entries one phase produces."""

    def __init__(self, state: WorldState) -> None:
        self.state = state
        self.config = state.config
        self.book = Book(state)
        self.events: list[DomainEvent] = []
        # Agents present at or travelling to each location, counted on first use in this phase
        # and kept current by moves and births (see occupancy()).
        self.occupancy_counts: dict[str, int] | None = None

    def rng(self, purpose: str) -> random.Random:
        return derive_rng(self.state.seed, self.state.tick, purpose)

    def emit(
        self,
        event_type: str,
        agent_id: str = "",
        location_id: str = "",
        detail_kind: str = "",
        details: Mapping[str, object] | None = None,
    ) -> None:
        self.events.append(
            DomainEvent(event_type, agent_id, location_id, detail_kind, dict(details or {}))
        )


def carry_load(state: WorldState, agent: Agent) -> int:
    weights = state.config.resources.weights
    return sum(
        weights.get(resource, 1) * quantity for resource, quantity in agent.inventory.items()
    )


def carry_room(state: WorldState, agent: Agent, resource: str) -> int:
    """How many more units of `resource` the agent can carry."""
    weight = state.config.resources.weights.get(resource, 1)
    free = state.config.resources.carry_capacity - carry_load(state, agent)
    return max(0, free // weight)


# The craft each gathered good is got by: practice at one raises the yield of its goods only, so
# an agent who has fished much fishes better than it digs roots (comparative advantage). Water is
# drawn by anyone as well as by anyone else.
GATHER_SKILLS: dict[str, str] = {
    "FISH": "FISHING", "BERRY": "FORAGING", "FIBER": "FORAGING", "MEDICINE": "FORAGING",
    "ROOT": "DIGGING", "CLAY": "DIGGING", "WOOD": "WOODCUTTING", "STONE": "QUARRYING",
    "ORE": "QUARRYING", "MEAT": "HUNTING", "HIDE": "HUNTING",
}  # fmt: skip


def skill_level(state: WorldState, agent: Agent, skill: str) -> int:
    per_level = state.config.actions.xp_per_level
    return min(state.config.actions.max_skill_level, agent.skills.get(skill, 0) // per_level)


def add_xp(agent: Agent, skill: str, amount: int = 1) -> None:
    agent.skills[skill] = agent.skills.get(skill, 0) + amount


def energy_cap(state: WorldState, agent: Agent) -> float:
    """100, falling linearly to the elder cap between 80 % of the lifespan and death."""
    vitals = state.config.vitals
    age = agent.age(state.tick)
    elder_start = agent.lifespan * vitals.elder_fraction
    if age <= elder_start:
        return vitals.maximum
    span = max(1.0, agent.lifespan - elder_start)
    fraction = min(1.0, (age - elder_start) / span)
    return vitals.maximum - fraction * (vitals.maximum - vitals.elder_energy_cap_at_death)


def is_child(state: WorldState, agent: Agent) -> bool:
    return agent.age(state.tick) < state.config.population.maturity_ticks and agent.generation > 0


def life_stage(state: WorldState, agent: Agent) -> str:
    if is_child(state, agent):
        return "CHILD"
    if agent.age(state.tick) >= agent.lifespan * state.config.vitals.elder_fraction:
        return "ELDER"
    return "ADULT"


def change_trust(phase: Phase, agent: Agent, other_id: str, delta: float, cause: str) -> None:
    """Move `agent`'s trust in `other_id` by delta (clamped to −1..1) and record the change."""
    if other_id == agent.id or delta == 0:
        return
    previous = agent.relationships.get(other_id, 0.0)
    current = round(max(-1.0, min(1.0, previous + delta)), 4)
    agent.relationships[other_id] = current
    phase.emit(
        "RELATIONSHIP_CHANGED",
        agent.id,
        agent.location_id,
        "relationship",
        {"other_agent_id": other_id, "previous": previous, "current": current, "cause": cause},
    )


def change_reputation(phase: Phase, agent: Agent, delta: float, cause: str) -> None:
    previous = agent.reputation
    agent.reputation = round(max(-1.0, min(1.0, previous + delta)), 4)
    phase.emit(
        "REPUTATION_CHANGED",
        agent.id,
        agent.location_id,
        "reputation",
        {"previous": previous, "current": agent.reputation, "cause": cause},
    )


def agents_here(state: WorldState, location_id: str, *, exclude: str = "") -> list[Agent]:
    """Living agents present (not travelling) at a location, in id order."""
    location = state.locations[location_id]
    return [
        state.agents[agent_id]
        for agent_id in sorted(location.agent_ids)
        if agent_id != exclude and state.agents[agent_id].alive
    ]


def structures_here(state: WorldState, location_id: str, kind: str = "") -> list[Structure]:
    location = state.locations[location_id]
    found = [state.structures[sid] for sid in location.structure_ids if sid in state.structures]
    return sorted(
        (s for s in found if not kind or s.kind == kind), key=lambda structure: structure.id
    )


def may_use(state: WorldState, agent: Agent, structure: Structure) -> bool:
    """Owner, unowned, public ACL, an allowed agent or group member may use it; denied never."""
    access = structure.access
    if agent.id in access.denied_agent_ids:
        return False
    if not structure.owner_id or structure.owner_id == agent.id or access.public:
        return True
    if agent.id in access.allowed_agent_ids or agent.partner_id == structure.owner_id:
        return True
    return bool(agent.group_ids & access.allowed_group_ids)


def notify(agent: Agent, text: str) -> None:
    agent.notifications.append(text)


def count_occupancy(state: WorldState) -> dict[str, int]:
    """Living agents per location: those present plus those on their way there."""
    counts: dict[str, int] = {}
    for agent_id in state.living_ids:
        agent = state.agents[agent_id]
        where = agent.destination_id if agent.in_transit else agent.location_id
        counts[where] = counts.get(where, 0) + 1
    return counts


def occupancy(phase: Phase, location_id: str) -> int:
    """How many agents are at or on their way to a location (its capacity counts them all)."""
    if phase.occupancy_counts is None:
        phase.occupancy_counts = count_occupancy(phase.state)
    return phase.occupancy_counts.get(location_id, 0)


def walls_at(state: WorldState, location_id: str) -> list[Structure]:
    return structures_here(state, location_id, "WALL")


def crossing(state: WorldState, route: Route) -> tuple[Access, str]:
    """Who may use a route and who is paid for it: a bridge's terms govern the route it made."""
    bridge = state.structures.get(route.bridge_id) if route.bridge_id else None
    if bridge is not None:
        return bridge.access, bridge.owner_id
    return route.access, route.owner_id


def route_allows(agent: Agent, access: Access) -> bool:
    return agent.id not in access.denied_agent_ids and (
        access.public
        or agent.id in access.allowed_agent_ids
        or bool(agent.group_ids & access.allowed_group_ids)
    )
