"""Creating a world: map from a world file or generated, seed agents, and the tick-0 stocks."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from emergence.mesh.ids import derive_rng
from engine.core.book import Book
from engine.core.config import WorldConfig
from engine.core.entries import Entry
from engine.core.events import DomainEvent
from engine.core.knowledge import seed_knowledge
from engine.core.state import TRAITS, Agent, Location, Node, Route, WorldState

FIRST_NAMES = (
    "Ayla", "Bren", "Cora", "Dax", "Edda", "Finn", "Gala", "Hako", "Iris", "Joren", "Kora", "Lio",
    "Mira", "Nilo", "Oona", "Pell", "Quin", "Rhea", "Soren", "Tova", "Ulla", "Vale", "Wren",
    "Xani", "Yara", "Zev", "Ash", "Bex", "Cael", "Dara", "Elin", "Fael", "Gwen", "Hale", "Ines",
    "Jai", "Kael", "Lena", "Moss", "Nia", "Orin", "Pia", "Rook", "Sela", "Tarn", "Uma", "Vesk",
    "Wynn", "Ysra", "Zola",
)  # fmt: skip

RESOURCE_NAMES = (
    "WATER", "BERRY", "FISH", "ROOT", "MEAT", "FARMED", "COOKED", "WOOD", "STONE", "FIBER",
    "CLAY", "HIDE", "ORE", "METAL", "MEDICINE", "TOOL", "ADVANCED_TOOL", "CURRENCY_TOKEN",
    "WRITTEN_RECORD", "TEXTILE", "POTTERY",
)  # fmt: skip


class MapError(ValueError):
    """A world map definition is malformed; the message names the entry and the fix."""


def new_world(
    config: WorldConfig,
    *,
    seed: int,
    agents: int,
    map_name: str = "default",
    generated_locations: int = 0,
    map_definition: Mapping[str, Any] | None = None,
) -> tuple[WorldState, list[DomainEvent], list[Entry]]:
    """Tick 0: the map with its initial stocks (as regeneration entries) and the seed agents."""
    state = WorldState(tick=0, seed=seed, config=config)
    if map_name == "generated" or generated_locations > 0:
        count = generated_locations or 200
        locations, routes, start_regions = generate_map(count, derive_rng(seed, 0, "map"), agents)
    else:
        if map_definition is None:
            # Reading the bundled world file is the one read the core does: it is fixed data.
            from engine.worlds import load_map

            map_definition = load_map(map_name)
        locations, routes, start_region = parse_map(map_definition)
        start_regions = {start_region}
    book = Book(state)
    for location in locations:
        stocks = {resource: node.available for resource, node in location.nodes.items()}
        for node in location.nodes.values():
            node.available = 0
        state.locations[location.id] = location
        for resource, quantity in sorted(stocks.items()):
            book.regenerate(location, resource, quantity)
    for route in routes:
        state.add_route(route)
    events: list[DomainEvent] = []
    rng = derive_rng(seed, 0, "agents")
    starts = sorted(loc.id for loc in locations if loc.region in start_regions and not loc.hidden)
    for location_id in starts:
        # The seed agents fit where they start (a large population on a generated map would
        # otherwise begin over capacity and could never come back home).
        location = state.locations[location_id]
        location.capacity = max(location.capacity, -(-agents // max(1, len(starts))))
    if not starts:
        raise MapError(f"start region {sorted(start_regions)!r} has no visible locations")
    for index in range(agents):
        agent = create_agent(state, rng, starts[index % len(starts)], generation=0, parents=())
        events.append(born_event(state, agent, "seed"))
    return state, events, book.entries


def create_agent(
    state: WorldState,
    rng: random.Random,
    location_id: str,
    *,
    generation: int,
    parents: tuple[str, ...],
    personality: dict[str, float] | None = None,
    knowledge: set[str] | None = None,
) -> Agent:
    """A new living agent placed at `location_id`; it knows its start region's visible places."""
    config = state.config
    variation = config.time.lifespan_variation
    lifespan = round(config.time.lifespan_ticks * (1 + rng.uniform(-variation, variation)))
    state.name_counter += 1
    name = FIRST_NAMES[rng.randrange(len(FIRST_NAMES))]
    if state.name_counter > len(FIRST_NAMES):
        name = f"{name} {state.name_counter // len(FIRST_NAMES) + 1}"
    agent = Agent(
        id=state.next_id("agent"),
        name=name,
        sex=rng.choice(("FEMALE", "MALE")),
        generation=generation,
        parent_ids=parents,
        born_tick=state.tick,
        lifespan=lifespan,
        personality=personality or random_personality(rng, config.population.personality_mode),
        location_id=location_id,
    )
    agent.knowledge = (
        set(knowledge) if knowledge is not None else seed_knowledge(config.knowledge.seed_level)
    )
    location = state.locations[location_id]
    region = location.region
    agent.known_location_ids = {
        loc.id for loc in state.locations.values() if loc.region == region and not loc.hidden
    }
    agent.known_location_ids.add(location_id)
    state.agents[agent.id] = agent
    state.living_ids.add(agent.id)
    location.agent_ids.add(agent.id)
    return agent


def random_personality(rng: random.Random, mode: str) -> dict[str, float]:
    if mode == "balanced":
        return {trait: round(0.5 + rng.uniform(-0.1, 0.1), 3) for trait in TRAITS}
    return {trait: round(rng.random(), 3) for trait in TRAITS}


def born_event(state: WorldState, agent: Agent, origin: str) -> DomainEvent:
    return DomainEvent(
        type="AGENT_BORN",
        agent_id=agent.id,
        location_id=agent.location_id,
        detail_kind="agent_born",
        details={
            "name": agent.name,
            "parent_ids": list(agent.parent_ids),
            "generation": agent.generation,
            "personality": dict(agent.personality),
            "knowledge": sorted(agent.knowledge),
            "sex": f"SEX_{agent.sex}",
            "lifespan": agent.lifespan,
            "origin": origin,
        },
    )


def parse_map(definition: Mapping[str, Any]) -> tuple[list[Location], list[Route], str]:
    """Locations and routes from a world-file mapping (see engine/worlds/default.yaml)."""
    raw_locations = definition.get("locations")
    if not isinstance(raw_locations, Mapping) or not raw_locations:
        raise MapError("world file needs a 'locations' mapping of id -> location")
    locations = [_parse_location(str(key), value) for key, value in raw_locations.items()]
    known = {location.id for location in locations}
    routes = []
    for index, raw in enumerate(definition.get("routes") or []):
        routes.append(_parse_route(index, raw, known))
    start_region = str(definition.get("start_region") or locations[0].region)
    return sorted(locations, key=lambda loc: loc.id), routes, start_region


def _parse_location(location_id: str, raw: object) -> Location:
    if not isinstance(raw, Mapping):
        raise MapError(f"location {location_id}: expected a mapping")
    nodes: dict[str, Node] = {}
    for resource, numbers in (raw.get("nodes") or {}).items():
        if resource not in RESOURCE_NAMES:
            raise MapError(f"location {location_id}: unknown resource {resource!r}")
        if not (isinstance(numbers, list) and len(numbers) == 3):
            raise MapError(
                f"location {location_id}: node {resource} must be [available, regen, maximum]"
            )
        available, regen, maximum = (int(n) for n in numbers)
        nodes[resource] = Node(available, regen, maximum)
    return Location(
        id=location_id,
        name=str(raw.get("name", location_id)),
        region=str(raw.get("region", "Unknown")),
        kind=str(raw.get("kind", "natural")),
        description=str(raw.get("description", "")),
        capacity=int(raw.get("capacity", 50)),  # invented: 50 agents fit a location
        nodes=nodes,
        hidden=bool(raw.get("hidden", False)),
        farmable=bool(raw.get("farmable", False)),
        rest_multiplier=float(raw.get("rest_multiplier", 1.0)),
        danger=float(raw.get("danger", 0.0)),
        burn_damage=float(raw.get("burn_damage", 0.0)),
        reveals_adjacent_regions=bool(raw.get("reveals_adjacent_regions", False)),
    )


def _parse_route(index: int, raw: object, known: set[str]) -> Route:
    if not isinstance(raw, list) or len(raw) < 3:
        raise MapError(f"routes[{index}]: expected [from, to, travel ticks, path type?, hidden?]")
    start, end, ticks = str(raw[0]), str(raw[1]), int(raw[2])
    for end_id in (start, end):
        if end_id not in known:
            raise MapError(f"routes[{index}]: unknown location {end_id!r}")
    path_type = str(raw[3]) if len(raw) > 3 else "NONE"
    hidden = len(raw) > 4 and raw[4] == "hidden"
    return Route(
        id=f"route-{start}-{end}",
        from_location_id=start,
        to_location_id=end,
        path_type=path_type,
        travel_ticks=ticks,
        hidden=hidden,
    )


GENERATED_REGIONS = ("Valley", "Highlands", "Coast", "Steppe", "Marsh", "Woods", "Dunes", "Fjord")
REGION_SIZE = 10
# Every third place of a region (0, 3, 6, 9) is a lake or river: every other place of the chain is
# one short walk from fresh water. Numbers are [available, regen per tick, maximum].
GENERATED_LAKE = {"WATER": (300, 30, 300), "FISH": (30, 6, 60)}
GENERATED_SPRING = ("WATER", 60, 10, 100)
GENERATED_FOODS = (("BERRY", 20, 5, 40), ("ROOT", 15, 4, 30))
GENERATED_MATERIALS = (
    ("WOOD", 50, 5, 100), ("STONE", 30, 2, 60), ("FIBER", 15, 3, 30), ("CLAY", 10, 2, 20),
    ("ORE", 10, 1, 30), ("HIDE", 3, 1, 8), ("MEDICINE", 3, 1, 8), ("WOOD", 30, 3, 60),
)  # fmt: skip
# A lake shore has room for more than a clearing (invented; places are 50).
LAKE_CAPACITY = 80
# Seed agents per start place at most: a large population starts over as many regions as it
# needs, so no place begins crowded past what its water and food carry.
START_DENSITY = 15


def generate_map(
    count: int, rng: random.Random, agents: int = 0
) -> tuple[list[Location], list[Route], set[str]]:
    """`count` places in regions of ten; each region a chain with water every third place and food
    everywhere; the start regions hold the seed agents at ≤ 15 per place."""
    count = max(3, count)
    locations = [_generated_location(index, rng) for index in range(count)]
    routes: list[Route] = []
    for index in range(1, count):
        same_region = index % REGION_SIZE != 0
        parent = index - 1 if same_region else rng.randrange(max(0, index - REGION_SIZE), index)
        ticks = rng.randint(2, 3) if same_region else rng.randint(5, 8)
        routes.append(_generated_route(locations[parent].id, locations[index].id, ticks))
    for _ in range(count // 4):
        first, second = rng.sample(range(count), 2)
        routes.append(
            _generated_route(locations[first].id, locations[second].id, rng.randint(2, 8))
        )
    unique = {route.id: route for route in routes if route.from_location_id != route.to_location_id}
    return locations, [unique[key] for key in sorted(unique)], _start_regions(locations, agents)


def _generated_location(index: int, rng: random.Random) -> Location:
    region_index = index // REGION_SIZE
    region = GENERATED_REGIONS[region_index % len(GENERATED_REGIONS)]
    if region_index >= len(GENERATED_REGIONS):
        region = f"{region} {region_index // len(GENERATED_REGIONS) + 1}"
    lake = index % REGION_SIZE % 3 == 0
    nodes = {name: Node(*numbers) for name, numbers in GENERATED_LAKE.items()} if lake else {}
    if not lake and rng.random() < 0.4:
        name, available, regen, maximum = GENERATED_SPRING
        nodes[name] = Node(available, regen, maximum)
    foods = rng.sample(GENERATED_FOODS, 2 if rng.random() < 0.5 else 1)
    for name, available, regen, maximum in (*foods, *rng.sample(GENERATED_MATERIALS, 2)):
        nodes.setdefault(name, Node(available, regen, maximum))
    hidden = index > REGION_SIZE and not lake and rng.random() < 0.05
    feature = _feature(nodes)
    number = index % REGION_SIZE + 1
    return Location(
        id=f"loc-{index:04d}",
        name=f"{region} {feature} {number}",
        region=region,
        kind="natural",
        description=f"{feature} {number} of the {region}: "
        + ", ".join(name.lower() for name in sorted(nodes))
        + ".",
        capacity=LAKE_CAPACITY if lake else 50,
        nodes=nodes,
        hidden=hidden,
        farmable=not lake and rng.random() < 0.3,
    )


FEATURE_OF = (
    ("FISH", "Lake"), ("WATER", "Spring"), ("WOOD", "Wood"), ("BERRY", "Thicket"),
    ("ROOT", "Meadow"),
)  # fmt: skip


def _feature(nodes: dict[str, Node]) -> str:
    """A place is named for what stands out there, so a traveller can tell a lake from a wood."""
    return next((feature for resource, feature in FEATURE_OF if resource in nodes), "Field")


def _start_regions(locations: list[Location], agents: int) -> set[str]:
    """The first region, and the next ones in map order until they seat the seed agents."""
    regions: set[str] = set()
    places = 0
    for location in locations:
        if regions and location.region not in regions and places * START_DENSITY >= agents:
            break
        regions.add(location.region)
        places += not location.hidden
    return regions


def _generated_route(start: str, end: str, ticks: int) -> Route:
    first, second = sorted((start, end))
    return Route(f"route-{first}-{second}", first, second, "NONE", ticks)
