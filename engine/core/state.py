"""World state: mutable, slotted classes for the hot state the engine changes every tick.

Mutable on purpose: a tick touches thousands of vitals and inventories, and copying frozen trees
per change would dominate the tick time. Only the phase functions in tick.py mutate it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from emergence.mesh.ids import uuid7_shaped
from engine.core.config import WorldConfig

SEASONS = ("SPRING", "SUMMER", "AUTUMN", "WINTER")
TIMES_OF_DAY = ("DAWN", "MORNING", "AFTERNOON", "DUSK", "NIGHT")
PATH_TYPES = ("NONE", "DIRT_TRAIL", "WORN_PATH", "ROAD", "HIGHWAY")
TRAITS = (
    "curiosity", "cooperation", "aggression", "risk_tolerance",
    "industriousness", "sociability", "honesty", "loyalty",
)  # fmt: skip
SKILLS = (
    "GATHERING", "BUILDING", "TRADING", "FARMING", "CRAFTING", "MEDICINE", "COMBAT", "TEACHING",
    "FISHING", "FORAGING", "DIGGING", "WOODCUTTING", "QUARRYING", "HUNTING",
)  # fmt: skip


@dataclass(slots=True)
class Node:
    available: int
    regen_per_tick: int
    maximum: int
    # Fractional regeneration carried to the next tick so seasonal multipliers never round to 0.
    carry: float = 0.0


@dataclass(slots=True)
class Access:
    public: bool = True
    allowed_agent_ids: set[str] = field(default_factory=set)
    allowed_group_ids: set[str] = field(default_factory=set)
    denied_agent_ids: set[str] = field(default_factory=set)
    # Paid to the owner by everyone else on each use (a route crossed, a wall passed, storage used).
    toll: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class BoardMessage:
    id: str
    tick: int
    author_id: str
    author_name: str
    text: str
    location_id: str
    region_wide: bool = False
    world_wide: bool = False


@dataclass(slots=True)
class PrivateMessage:
    id: str
    tick: int
    from_agent_id: str
    from_name: str
    text: str
    also_to_ids: tuple[str, ...] = ()


@dataclass(slots=True)
class Location:
    id: str
    name: str
    region: str
    kind: str
    description: str
    capacity: int
    nodes: dict[str, Node]
    ground: dict[str, int] = field(default_factory=dict)
    structure_ids: list[str] = field(default_factory=list)
    hidden: bool = False
    farmable: bool = False
    rest_multiplier: float = 1.0
    danger: float = 0.0
    burn_damage: float = 0.0
    reveals_adjacent_regions: bool = False
    agent_ids: set[str] = field(default_factory=set)
    owner_id: str = ""
    board: list[BoardMessage] = field(default_factory=list)
    boom_until_tick: int = 0
    # Knowledge written on tablets left here (no library): item -> tick written (engine.core.writing).
    writings: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Route:
    id: str
    from_location_id: str
    to_location_id: str
    path_type: str
    travel_ticks: int
    durability: float = 100.0
    decay_per_tick: float = 0.0
    bidirectional: bool = True
    hidden: bool = False
    access: Access = field(default_factory=Access)
    builder_id: str = ""
    built_tick: int = 0
    # Who may set its toll: the builder of the bridge that made it, or whoever claimed it.
    owner_id: str = ""
    bridge_id: str = ""  # the bridge structure this route crosses by, if any

    def other_end(self, location_id: str) -> str:
        return (
            self.to_location_id if location_id == self.from_location_id else self.from_location_id
        )

    def joins(self, location_id: str) -> bool:
        if location_id == self.from_location_id:
            return True
        return self.bidirectional and location_id == self.to_location_id


@dataclass(slots=True)
class Structure:
    id: str
    kind: str
    location_id: str
    owner_id: str
    builder_id: str
    built_tick: int
    durability: float = 100.0
    materials: dict[str, int] = field(default_factory=dict)
    storage: dict[str, int] = field(default_factory=dict)
    occupant_ids: set[str] = field(default_factory=set)
    access: Access = field(default_factory=Access)
    crop_ripe_tick: int = 0
    crop_planted_by: str = ""
    group_id: str = ""
    # Knowledge written into a library.
    records: set[str] = field(default_factory=set)
    # Bridges: the route the bridge made or shortened, and that route's path type and travel ticks
    # before (empty when the bridge made a new route, which goes when the bridge goes).
    route_id: str = ""
    route_before: tuple[str, int] = ("", 0)
    # Markets: the last price of each kind of deal ("WOOD for FISH" -> "2 wood for 1 fish").
    prices: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Agent:
    id: str
    name: str
    sex: str
    generation: int
    parent_ids: tuple[str, ...]
    born_tick: int
    lifespan: int
    personality: dict[str, float]
    location_id: str
    energy: float = 100.0
    health: float = 100.0
    hunger: float = 0.0
    thirst: float = 0.0
    route_id: str = ""
    destination_id: str = ""
    travel_remaining: int = 0
    inventory: dict[str, int] = field(default_factory=dict)
    knowledge: set[str] = field(default_factory=set)
    skills: dict[str, int] = field(default_factory=dict)  # skill -> experience
    relationships: dict[str, float] = field(default_factory=dict)
    group_ids: set[str] = field(default_factory=set)
    partner_id: str = ""
    reputation: float = 0.0
    alive: bool = True
    died_tick: int = 0
    death_cause: str = ""
    known_location_ids: set[str] = field(default_factory=set)
    explored_route_ids: set[str] = field(default_factory=set)
    last_activity: str = "arriving"
    inbox: list[PrivateMessage] = field(default_factory=list)
    notifications: list[str] = field(default_factory=list)
    goals: list[str] = field(default_factory=list)
    sheltered_in: str = ""
    last_injury: str = ""
    last_child_tick: int = -1_000_000

    @property
    def in_transit(self) -> bool:
        return self.travel_remaining > 0

    def age(self, tick: int) -> int:
        return tick - self.born_tick

    def holds(self, resource: str) -> int:
        return self.inventory.get(resource, 0)


@dataclass(slots=True)
class Group:
    id: str
    name: str
    founder_id: str
    formed_tick: int
    member_ids: set[str] = field(default_factory=set)
    invited_ids: set[str] = field(default_factory=set)
    roles: dict[str, str] = field(default_factory=dict)
    rules: list[str] = field(default_factory=list)
    store: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class TradeOffer:
    id: str
    from_agent_id: str
    to_agent_id: str
    give: dict[str, int]
    want: dict[str, int]
    created_tick: int
    expires_tick: int
    # A standing offer at a market: open to anyone there, its goods held by the market meanwhile.
    market_id: str = ""


@dataclass(slots=True)
class Deception:
    """A false checkable claim, kept until the deceived finds out or it is forgotten."""

    speaker_id: str
    target_id: str
    tick: int
    claim: str
    truth: str
    resource: str  # the resource named ("FOOD" for any food)
    location_id: str = ""  # set for a claim about a place, empty for "I have no ..."
    claims_some: bool = False  # a place claim said there is some (True) or none (False)


@dataclass(slots=True)
class Alliance:
    """A passed alliance proposal: its yes-voters stand together until one turns on another."""

    id: str
    member_ids: frozenset[str]
    terms: str
    formed_tick: int


@dataclass(slots=True)
class Proposal:
    id: str
    kind: str
    proposer_id: str
    agent_ids: tuple[str, ...]
    terms: str
    group_id: str
    created_tick: int
    closes_tick: int
    votes: dict[str, bool] = field(default_factory=dict)


@dataclass(slots=True)
class WorldState:
    tick: int
    seed: int
    config: WorldConfig
    agents: dict[str, Agent] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)
    structures: dict[str, Structure] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    trades: dict[str, TradeOffer] = field(default_factory=dict)
    proposals: dict[str, Proposal] = field(default_factory=dict)
    alliances: dict[str, Alliance] = field(default_factory=dict)
    # (action type, from agent, to agent) -> tick the request expires.
    bond_requests: dict[tuple[str, str, str], int] = field(default_factory=dict)
    season: str = "SPRING"
    weather: str = "CLEAR"
    era: str = "PRIMITIVE"
    world_in: dict[str, int] = field(default_factory=dict)
    void_out: dict[str, int] = field(default_factory=dict)
    first_discoveries: set[str] = field(default_factory=set)
    world_board: list[BoardMessage] = field(default_factory=list)
    internet_unlocked: bool = False
    plague_until_tick: dict[str, int] = field(default_factory=dict)  # region -> tick
    plague_cured: dict[str, set[str]] = field(default_factory=dict)  # region -> agents cured
    deceptions: list[Deception] = field(default_factory=list)
    # Actions done per location last tick (location -> [(agent id, action type, knowledge)]).
    activity: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    adjacency: dict[str, list[str]] = field(default_factory=dict)  # location -> route ids
    living_ids: set[str] = field(default_factory=set)
    id_counter: int = 0
    name_counter: int = 0
    last_results: dict[str, object] = field(default_factory=dict)

    def next_id(self, kind: str) -> str:
        """A reproducible UUIDv7-shaped id: the tick is the time field, bits from (seed, counter)."""
        self.id_counter += 1
        digest = hashlib.sha256(f"{self.seed}:{kind}:{self.id_counter}".encode()).digest()
        return uuid7_shaped(self.tick, int.from_bytes(digest[:10], "big"))

    def living_agent_ids(self) -> list[str]:
        return sorted(self.living_ids)

    def living_agents(self) -> list[Agent]:
        return [self.agents[agent_id] for agent_id in self.living_agent_ids()]

    @property
    def population(self) -> int:
        return len(self.living_ids)

    @property
    def time_of_day(self) -> str:
        return TIMES_OF_DAY[self.tick % len(TIMES_OF_DAY)]

    @property
    def is_night(self) -> bool:
        return self.time_of_day == "NIGHT"

    @property
    def year(self) -> int:
        return self.tick // (self.config.time.season_length_ticks * 4)

    def days_until_season_change(self) -> int:
        length = self.config.time.season_length_ticks
        return length - (self.tick % length)

    def add_route(self, route: Route) -> None:
        self.routes[route.id] = route
        for end in (route.from_location_id, route.to_location_id):
            ids = self.adjacency.setdefault(end, [])
            ids.append(route.id)
            ids.sort()

    def remove_route(self, route_id: str) -> None:
        route = self.routes.pop(route_id)
        for end in (route.from_location_id, route.to_location_id):
            ids = self.adjacency.get(end, [])
            if route_id in ids:
                ids.remove(route_id)

    def routes_from(self, location_id: str) -> list[Route]:
        """Routes one can take from here, in id order (hidden ones included; callers filter)."""
        routes = (self.routes[route_id] for route_id in self.adjacency.get(location_id, ()))
        return [route for route in routes if route.joins(location_id)]
