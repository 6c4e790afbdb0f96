"""Perception: what each agent sees, built from one shared view per location per tick.

The dataclasses mirror perception.proto field for field (enums as names without prefix), so the
adapter converts them generically.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from engine.core.actions import ActionResult
from engine.core.context import (
    carry_load,
    crossing,
    energy_cap,
    life_stage,
    may_use,
    route_allows,
    skill_level,
    walls_at,
)
from engine.core.perception_extra import PerceptionExtra
from engine.core.state import SKILLS, Agent, Location, Route, Structure, WorldState


@dataclass(frozen=True, slots=True)
class ResourceSighting:
    resource: str
    amount_word: str
    on_ground: bool = False
    ground_quantity: int = 0


@dataclass(frozen=True, slots=True)
class StructureSighting:
    structure_id: str
    kind: str
    owner: str
    owner_id: str
    durability_percent: int
    occupant_names: tuple[str, ...] = ()
    usable_by_me: bool = True
    crop_ripe: bool = False
    crop_ripe_in_ticks: int = 0


@dataclass(frozen=True, slots=True)
class AgentSighting:
    agent_id: str
    name: str
    relationship_word: str
    trust: float
    last_activity: str
    life_stage: str
    sex: str
    is_partner: bool = False
    is_kin: bool = False
    group_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AgentsHereSummary:
    """Everyone at the location but the perceiver, counted (the sightings list only a few)."""

    count: int = 0
    children: int = 0
    adults: int = 0
    elders: int = 0
    known: int = 0
    friends: int = 0
    distrusted: int = 0
    kin: int = 0
    group_members: int = 0
    strangers: int = 0


# Most agents a perception names; the rest are counted in AgentsHereSummary and paged on request.
AGENTS_LISTED = 12
# Most structures a perception names; the rest are counted in Perception.structures_here.
STRUCTURES_LISTED = 8
# Trust at or above which a known agent counts as a friend, below which as distrusted.
FRIEND_TRUST = 0.4
DISTRUST_TRUST = -0.1


@dataclass(frozen=True, slots=True)
class RouteSighting:
    route_id: str
    destination_id: str
    destination_name: str
    travel_ticks: int
    path_type: str
    blocked_by_weather: bool = False
    blocked_by_access: bool = False
    destination_region: str = ""
    explored: bool = True


@dataclass(frozen=True, slots=True)
class MessageView:
    id: str
    tick: int
    from_agent_id: str
    from_name: str
    text: str
    also_to_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BoardView:
    id: str
    tick: int
    author_id: str
    author_name: str
    text: str
    location_id: str
    region_wide: bool = False
    world_wide: bool = False


@dataclass(frozen=True, slots=True)
class TradeOfferView:
    trade_id: str
    from_agent_id: str
    from_name: str
    give: tuple[tuple[str, int], ...]
    want: tuple[tuple[str, int], ...]
    expires_tick: int
    can_accept: bool


@dataclass(frozen=True, slots=True)
class ProposalView:
    proposal_id: str
    kind: str
    proposer_id: str
    proposer_name: str
    terms: str
    closes_tick: int


@dataclass(frozen=True, slots=True)
class GroupInvitationView:
    group_id: str
    group_name: str
    founder_id: str
    founder_name: str


@dataclass(frozen=True, slots=True)
class BondRequestView:
    action_type: str
    from_agent_id: str
    from_name: str
    expires_tick: int


@dataclass(frozen=True, slots=True)
class AvailableAction:
    action_type: str
    form: str
    description: str
    energy_cost: float
    options: dict[str, str] = field(default_factory=dict)


# SelfView and Perception are built once per agent per tick and never shared; they are slotted
# but not frozen because a frozen dataclass sets each of their 25+ fields through
# object.__setattr__, a measurable share of perceiving 1 000 agents. Treat them as read-only.
@dataclass(slots=True)
class SelfView:
    agent_id: str
    name: str
    age: int
    life_stage: str
    energy: float
    health: float
    hunger: float
    thirst: float
    location_id: str
    location_name: str
    inventory: tuple[tuple[str, int], ...]
    carry_load: int
    carry_capacity: int
    goals: tuple[str, ...]
    skills: tuple[tuple[str, int, int], ...]  # (skill, level, experience)
    group_ids: tuple[str, ...]
    group_names: tuple[str, ...]
    partner_id: str
    knowledge: tuple[str, ...]
    personality: dict[str, float]
    sex: str
    energy_cap: float
    in_transit: bool = False
    travel_ticks_remaining: int = 0
    destination_name: str = ""
    enforceable_rules: tuple[str, ...] = ()


@dataclass(slots=True)
class Perception:
    agent_id: str
    tick: int
    time_of_day: str
    season: str
    weather: str
    days_until_season_change: int
    year: int
    self_view: SelfView
    location_description: str
    location_region: str
    resources: tuple[ResourceSighting, ...]
    structures: tuple[StructureSighting, ...]
    agents: tuple[AgentSighting, ...]
    board: tuple[BoardView, ...]
    messages: tuple[MessageView, ...]
    routes: tuple[RouteSighting, ...]
    trade_offers: tuple[TradeOfferView, ...]
    proposals: tuple[ProposalView, ...]
    group_invitations: tuple[GroupInvitationView, ...]
    bond_requests: tuple[BondRequestView, ...]
    notifications: tuple[str, ...]
    available_actions: tuple[AvailableAction, ...]
    last_result: ActionResult | None
    known_location_names: tuple[str, ...]
    sleeping: bool
    era: str
    observable_knowledge: tuple[str, ...]
    memories: tuple[str, ...] = ()
    agents_here: AgentsHereSummary = AgentsHereSummary()
    # Standing structures here, named in `structures` or not.
    structures_here: int = 0
    extra: PerceptionExtra | None = None  # recipes, food values, birth terms (perception_extra)


def amount_word(quantity: int) -> str:
    if quantity <= 0:
        return "none"
    for limit, word in ((5, "scarce"), (15, "limited"), (30, "moderate"), (60, "abundant")):
        if quantity <= limit:
            return word
    return "plentiful"


def relationship_word(trust: float, known: bool) -> str:
    if not known:
        return "stranger"
    for limit, word in ((-0.5, "enemy"), (-0.1, "distrusted"), (0.1, "neutral"),
                        (0.4, "acquaintance"), (0.7, "friend")):  # fmt: skip
        if trust < limit:
            return word
    return "close friend"


@dataclass(frozen=True, slots=True)
class LocationView:
    """Everything about a location that is the same for every agent standing there this tick."""

    location: Location
    resources: tuple[ResourceSighting, ...]
    structures: tuple[Structure, ...]
    agents: tuple[Agent, ...]
    board: tuple[BoardView, ...]
    observable: tuple[tuple[str, str], ...]  # (actor id, knowledge)
    stranger_sightings: tuple[AgentSighting, ...]  # one per agent in `agents`, as a stranger
    positions: dict[str, int] = field(default_factory=dict)  # agent id -> index in `agents`
    children: dict[str, tuple[int, ...]] = field(default_factory=dict)  # parent id -> indexes
    # Knowledge shown here last tick -> the agents who showed it.
    shown_by: tuple[tuple[str, frozenset[str]], ...] = ()
    # Routes from here, where they lead and the walls guarding that place.
    exits: tuple[tuple[Route, Location, tuple[Structure, ...]], ...] = ()
    # Route sightings already built, by (route id, destination known, access denied).
    route_memo: dict[tuple[str, bool, bool], RouteSighting] = field(default_factory=dict)
    # Agents here by life stage: (children, adults, elders).
    stages: tuple[int, int, int] = (0, 0, 0)


def location_view(state: WorldState, location: Location) -> LocationView:
    resources = [
        ResourceSighting(resource, amount_word(node.available))
        for resource, node in sorted(location.nodes.items())
    ]
    resources += [
        ResourceSighting(resource, amount_word(quantity), True, quantity)
        for resource, quantity in sorted(location.ground.items())
        if quantity > 0
    ]
    structures = tuple(
        state.structures[sid] for sid in sorted(location.structure_ids) if sid in state.structures
    )
    agents = tuple(
        state.agents[aid] for aid in sorted(location.agent_ids) if state.agents[aid].alive
    )
    messages = list(location.board)
    # A meeting hall makes its board region-wide: its messages show everywhere in the region.
    messages += [
        message
        for other in _region_halls(state, location)
        for message in state.locations[other].board
        if message.region_wide and other != location.id
    ]
    messages += state.world_board
    board = tuple(
        BoardView(
            m.id,
            m.tick,
            m.author_id,
            m.author_name,
            m.text,
            m.location_id,
            m.region_wide,
            m.world_wide,
        )
        for m in sorted(messages, key=lambda m: (m.tick, m.id))[-20:]
    )
    observable = tuple(
        sorted({(aid, item) for aid, _, item in state.activity.get(location.id, []) if item})
    )
    strangers = tuple(
        AgentSighting(
            other.id,
            other.name,
            "stranger",
            0.0,
            other.last_activity,
            life_stage(state, other),
            other.sex,
            False,
            False,
        )
        for other in agents
    )
    children: dict[str, list[int]] = {}
    for index, other in enumerate(agents):
        for parent_id in other.parent_ids:
            children.setdefault(parent_id, []).append(index)
    stage_names = [sighting.life_stage for sighting in strangers]
    stages = tuple(stage_names.count(stage) for stage in ("CHILD", "ADULT", "ELDER"))
    shown_by: dict[str, set[str]] = {}
    for actor, item in observable:
        shown_by.setdefault(item, set()).add(actor)
    return LocationView(
        location, tuple(resources), structures, agents, board, observable, strangers,
        {other.id: index for index, other in enumerate(agents)},
        {parent_id: tuple(indexes) for parent_id, indexes in children.items()},
        tuple((item, frozenset(actors)) for item, actors in sorted(shown_by.items())),
        tuple(
            (
                route,
                state.locations[route.other_end(location.id)],
                tuple(walls_at(state, route.other_end(location.id))),
            )
            for route in state.routes_from(location.id)
        ),
        stages=(stages[0], stages[1], stages[2]),
    )  # fmt: skip


def _region_halls(state: WorldState, location: Location) -> list[str]:
    return sorted(
        s.location_id
        for s in state.structures.values()
        if s.kind == "MEETING_HALL" and state.locations[s.location_id].region == location.region
    )


def self_view(state: WorldState, agent: Agent) -> SelfView:
    location = state.locations[agent.location_id]
    destination = state.locations.get(agent.destination_id) if agent.destination_id else None
    if agent.group_ids:
        groups = sorted((state.groups[g].name, g) for g in agent.group_ids if g in state.groups)
        group_ids, group_names = tuple(g for _, g in groups), tuple(n for n, _ in groups)
    else:
        group_ids = group_names = ()
    skills = agent.skills
    return SelfView(
        agent_id=agent.id, name=agent.name, age=agent.age(state.tick),
        life_stage=life_stage(state, agent), energy=round(agent.energy, 2),
        health=round(agent.health, 2), hunger=round(agent.hunger, 2),
        thirst=round(agent.thirst, 2), location_id=location.id, location_name=location.name,
        inventory=tuple(sorted(agent.inventory.items())) if agent.inventory else (),
        carry_load=carry_load(state, agent) if agent.inventory else 0,
        carry_capacity=state.config.resources.carry_capacity, goals=tuple(agent.goals),
        skills=tuple(
            (skill, skill_level(state, agent, skill), skills[skill])
            for skill in SKILLS if skills.get(skill)
        ) if skills else (),
        group_ids=group_ids, group_names=group_names,
        partner_id=agent.partner_id, knowledge=tuple(sorted(agent.knowledge)),
        personality=dict(agent.personality), sex=agent.sex,
        energy_cap=round(energy_cap(state, agent), 2), in_transit=agent.in_transit,
        travel_ticks_remaining=agent.travel_remaining,
        destination_name=destination.name if destination else "",
        enforceable_rules=enforceable_rules(state, agent) if agent.group_ids else (),
    )  # fmt: skip


# Rules of its groups an authority is shown (the newest): enough to act on, few enough to read.
ENFORCEABLE_RULES_SHOWN = 3


def enforceable_rules(state: WorldState, agent: Agent) -> tuple[str, ...]:
    """The rules of the groups the agent founded or leads (ENFORCE's authority), newest last."""
    rules: list[str] = []
    for group_id in sorted(agent.group_ids):
        group = state.groups.get(group_id)
        if group is None or group.roles.get(agent.id) not in ("founder", "leader"):
            continue
        for rule in group.rules:
            if rule in rules:
                rules.remove(rule)
            rules.append(rule)
    return tuple(rules[-ENFORCEABLE_RULES_SHOWN:])


def agent_sightings(
    state: WorldState, agent: Agent, view: LocationView, callers: Iterable[str] = ()
) -> tuple[tuple[AgentSighting, ...], AgentsHereSummary]:
    """The most relevant few agents here, and everyone here counted.

    Relevance: partner, kin, group members, `callers` (a standing request, offer or message to
    me), known agents by strength of trust (either sign), then id order; at most AGENTS_LISTED,
    listed in id order.
    Work is bounded by what the agent knows, never by the crowd: the view's index finds known
    agents, and strangers are taken in id order from the sorted view.
    """
    positions = view.positions
    mine = positions.get(agent.id)
    relationships = agent.relationships
    # Rank of every special index: lower is more relevant; ties broken by index (id order).
    ranks: dict[int, tuple[int, float]] = {}

    def rank(index: int | None, order: int, weight: float = 0.0) -> None:
        if index is None or index == mine:
            return
        key = (order, weight)
        if index not in ranks or key < ranks[index]:
            ranks[index] = key

    kin: set[int] = set()
    for kin_id in (agent.partner_id, *agent.parent_ids):
        index = positions.get(kin_id) if kin_id else None
        rank(index, 0 if kin_id == agent.partner_id else 1)
        if index is not None and index != mine:
            kin.add(index)
    for index in view.children.get(agent.id, ()):
        rank(index, 1)
        if index != mine:
            kin.add(index)
    members = _group_members_here(state, agent, positions)
    for index in members:
        rank(index, 2)
    for caller in callers:
        rank(positions.get(caller), 3)
    known = friends = distrusted = 0
    if len(relationships) < len(positions):
        known_here = [(positions[i], t) for i, t in relationships.items() if i in positions]
    else:
        known_here = [
            (index, relationships[i]) for i, index in positions.items() if i in relationships
        ]
    for index, trust in known_here:
        if index == mine:
            continue
        known += 1
        friends += trust >= FRIEND_TRUST
        distrusted += trust < DISTRUST_TRUST
        rank(index, 4, -abs(trust))
    chosen = sorted(ranks, key=lambda index: (ranks[index], index))[:AGENTS_LISTED]
    if len(chosen) < AGENTS_LISTED:
        taken = set(chosen)
        for index in range(len(view.agents)):
            if index != mine and index not in taken:
                chosen.append(index)
                if len(chosen) == AGENTS_LISTED:
                    break
    # Chosen by relevance, listed in id order (the view is sorted): a crowd that fits reads as
    # it always did, and a reader never mistakes list order for a ranking it should trust.
    chosen.sort()
    strangers = view.stranger_sightings
    sightings = tuple(
        _shared_groups(agent, view.agents[index],
                       _known_sighting(agent, view.agents[index], strangers[index])
                       if index in ranks else strangers[index])
        for index in chosen
    )  # fmt: skip
    count = len(view.agents) - (mine is not None)
    children, adults, elders = view.stages
    if mine is not None:
        stage = strangers[mine].life_stage
        children -= stage == "CHILD"
        adults -= stage == "ADULT"
        elders -= stage == "ELDER"
    related = {index for index, _ in known_here if index != mine} | kin | members
    summary = AgentsHereSummary(
        count, children, adults, elders, known, friends, distrusted, len(kin), len(members),
        count - len(related),
    )  # fmt: skip
    return sightings, summary


def everyone_here(state: WorldState, agent: Agent) -> tuple[AgentSighting, ...]:
    """Every living agent at `agent`'s location but itself, in id order, as it sees them: the
    whole list a perception's `agents` names only a few of (asked for on demand, not per tick)."""
    location = state.locations[agent.location_id]
    sightings = []
    for other_id in sorted(location.agent_ids):
        other = state.agents.get(other_id)
        if other is None or not other.alive or other_id == agent.id:
            continue
        stranger = AgentSighting(
            other.id, other.name, "stranger", 0.0, other.last_activity,
            life_stage(state, other), other.sex,
        )  # fmt: skip
        sightings.append(_shared_groups(agent, other, _known_sighting(agent, other, stranger)))
    return tuple(sightings)


def _shared_groups(agent: Agent, other: Agent, sighting: AgentSighting) -> AgentSighting:
    """The sighting naming the groups `other` shares with `agent` (their others stay unnamed:
    a crowd's memberships would otherwise fill every perception)."""
    if not agent.group_ids or not other.group_ids:
        return sighting
    shared = agent.group_ids & other.group_ids
    return replace(sighting, group_ids=tuple(sorted(shared))) if shared else sighting


def _group_members_here(state: WorldState, agent: Agent, positions: dict[str, int]) -> set[int]:
    """Indexes of the agents here who share a group with `agent` (not counting itself)."""
    members: set[int] = set()
    for group_id in agent.group_ids:
        group = state.groups.get(group_id)
        if group is None:
            continue
        for member_id in group.member_ids:
            index = positions.get(member_id)
            if index is not None and member_id != agent.id:
                members.add(index)
    return members


def _known_sighting(agent: Agent, other: Agent, stranger: AgentSighting) -> AgentSighting:
    relationships = agent.relationships
    known = other.id in relationships
    is_partner = agent.partner_id == other.id
    is_kin = agent.id in other.parent_ids or other.id in agent.parent_ids
    if not (known or is_partner or is_kin):
        return stranger
    trust = relationships.get(other.id, 0.0)
    word = "partner" if is_partner else relationship_word(trust, known)
    return AgentSighting(
        other.id,
        other.name,
        word,
        trust,
        other.last_activity,
        stranger.life_stage,
        other.sex,
        is_partner,
        is_kin,
        stranger.group_ids,
    )


def _listed_structures(
    state: WorldState, agent: Agent, view: LocationView
) -> list[tuple[Structure, bool]]:
    """The structures a perception names, with whether the agent may use each, in id order.

    At most STRUCTURES_LISTED: the agent's own, then those nobody owns (ruins to claim or
    salvage), then one of each kind (those it may use first), then the rest (those it may use
    first), each in id order. A crowd that each built a shelter no longer makes every perception
    name every shelter; Perception.structures_here counts them all.
    """
    usable = [may_use(state, agent, structure) for structure in view.structures]
    if len(view.structures) <= STRUCTURES_LISTED:
        return list(zip(view.structures, usable, strict=True))
    kinds_seen: set[str] = set()
    ranks: list[tuple[int, int]] = []
    for index, structure in enumerate(view.structures):
        if structure.owner_id == agent.id:
            rank = 0
        elif structure.owner_id not in state.agents:
            rank = 1
        else:
            repeated = structure.kind in kinds_seen
            kinds_seen.add(structure.kind)
            rank = 2 + 2 * repeated + (not usable[index])
        ranks.append((rank, index))
    chosen = sorted(index for _, index in sorted(ranks)[:STRUCTURES_LISTED])
    return [(view.structures[index], usable[index]) for index in chosen]


def structure_sightings(
    state: WorldState, agent: Agent, view: LocationView
) -> tuple[StructureSighting, ...]:
    """The structures here the perception names (see _listed_structures); all are counted."""
    sightings = []
    for structure, usable in _listed_structures(state, agent, view):
        owner = state.agents.get(structure.owner_id)
        owner_word = "you" if structure.owner_id == agent.id else (owner.name if owner else "none")
        ripe_in = max(0, structure.crop_ripe_tick - state.tick) if structure.crop_ripe_tick else 0
        sightings.append(
            StructureSighting(
                structure.id,
                structure.kind,
                owner_word,
                structure.owner_id,
                round(structure.durability),
                tuple(sorted(state.agents[o].name for o in structure.occupant_ids)),
                usable,
                bool(structure.crop_ripe_tick) and ripe_in == 0,
                ripe_in,
            )
        )
    return tuple(sightings)


def route_sightings(
    state: WorldState, agent: Agent, view: LocationView | None = None
) -> tuple[RouteSighting, ...]:
    """Known routes from here; with the agent's location view, its exits and built sightings."""
    if view is None:
        view = location_view(state, state.locations[agent.location_id])
    sightings = []
    memo = view.route_memo
    for route, destination, walls in view.exits:
        if route.hidden and route.id not in agent.explored_route_ids:
            continue
        known = destination.id in agent.known_location_ids
        denied = not route_allows(agent, crossing(state, route)[0]) or any(
            not may_use(state, agent, wall) for wall in walls
        )
        key = (route.id, known, denied)
        sighting = memo.get(key)
        if sighting is None:
            sighting = memo[key] = RouteSighting(
                route.id,
                destination.id if known else "",
                destination.name if known else "unexplored path",
                route.travel_ticks,
                route.path_type,
                state.weather == "STORM",
                denied,
                destination.region if known else "",
                known,
            )
        sightings.append(sighting)
    return tuple(sightings)
