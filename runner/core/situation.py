"""One agent's situation read from its perception and memory: needs, holdings, options, paths."""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from emergence.action_words import AGENTS_HERE_TOKEN
from emergence.v1 import action_pb2, common_pb2, perception_pb2
from runner.core.actions import make_action
from runner.core.memory import AgentMemory, done_within, recently_failed
from runner.core.vocabulary import (
    ACTION_NAMES,
    ACTION_TYPES,
    FOODS,
    RESOURCE_NAMES,
    STRUCTURE_NAMES,
    amount_rank,
)

SHELTERS = ("LEAN_TO", "BASIC_HUT")
SEASONS = {value: name.removeprefix("SEASON_") for name, value in common_pb2.Season.items()}


@dataclass(slots=True)
class Candidate:
    """A possible action, how much the agent wants it now, and why. Never changed once made (not
    frozen only because a frozen dataclass takes three times as long to make, and a decision
    makes a dozen of them)."""

    score: float
    action: action_pb2.Action
    reason: str


@dataclass(slots=True)
class Situation:
    """Everything below is read once per decision (the plans ask for the same facts many times,
    and each read of a protobuf field costs more than a plain attribute)."""

    perception: perception_pb2.Perception
    memory: AgentMemory
    rng: random.Random
    inventory: dict[str, int] = field(default_factory=dict)
    knowledge: set[str] = field(default_factory=set)
    available: dict[str, perception_pb2.AvailableAction] = field(default_factory=dict)
    options: dict[str, list[str]] = field(default_factory=dict)
    here_resources: dict[str, int] = field(default_factory=dict)
    structures_here: dict[str, list[perception_pb2.StructureSighting]] = field(default_factory=dict)
    # Agent ids each agent-targeted action may name: the agents the perception lists, in id order.
    targets: dict[str, list[str]] = field(default_factory=dict)
    # Conclusions drawn once per decision and reused by several plans (partner, structure wanted).
    cache: dict[str, object] = field(default_factory=dict)
    # Plain facts of the perception.
    agent_id: str = ""
    tick: int = 0
    traits: common_pb2.Personality = field(default_factory=common_pb2.Personality)
    thirst: float = 0.0
    hunger: float = 0.0
    energy: float = 0.0
    health: float = 0.0
    location_id: str = ""
    season: str = "SPRING"
    night: bool = False
    is_child: bool = False
    # Needs are met well enough to think about anything else.
    comfortable: bool = False
    food_held: int = 0
    water_held: int = 0
    carry_room: int = 0
    # Hunger one unit of each food removes, as the perception states it.
    food_values: dict[str, float] = field(default_factory=dict)

    @classmethod
    def read(
        cls, perception: perception_pb2.Perception, memory: AgentMemory, rng: random.Random
    ) -> Situation:
        me = perception.self
        vitals = me.vitals
        thirst, hunger = float(vitals.thirst), float(vitals.hunger)
        energy, health = float(vitals.energy), float(vitals.health)
        clock = perception.clock
        situation = cls(
            perception,
            memory,
            rng,
            knowledge=set(me.knowledge),
            agent_id=str(perception.agent_id),
            tick=int(perception.tick),
            traits=me.personality,
            thirst=thirst,
            hunger=hunger,
            energy=energy,
            health=health,
            location_id=str(me.location_id),
            season=SEASONS.get(clock.season, "SPRING"),
            night=bool(perception.sleeping) or clock.time_of_day == common_pb2.TIME_OF_DAY_NIGHT,
            is_child=me.life_stage == common_pb2.LIFE_STAGE_CHILD,
            comfortable=thirst < 55 and hunger < 55 and energy > 30 and health > 30,
            carry_room=int(me.carry_capacity) - int(me.carry_load),
        )
        inventory = situation.inventory
        for amount in me.inventory:
            quantity = amount.quantity
            name = RESOURCE_NAMES.get(amount.resource, "")
            if name and quantity > 0:
                inventory[name] = inventory.get(name, 0) + int(quantity)
        situation.food_held = sum(inventory.get(food, 0) for food in FOODS)
        situation.water_held = inventory.get("WATER", 0)
        food_values = situation.food_values
        for value in perception.foods:
            food = RESOURCE_NAMES.get(value.food, "")
            if food:
                food_values.setdefault(food, float(value.hunger))
        _read_available(situation, perception)
        here_resources = situation.here_resources
        for sighting in perception.resources:
            if not sighting.on_ground:
                name = RESOURCE_NAMES.get(sighting.resource, "")
                here_resources[name] = amount_rank(sighting.amount_word)
        structures_here = situation.structures_here
        for structure in perception.structures:
            kind = STRUCTURE_NAMES.get(structure.kind, "")
            structures_here.setdefault(kind, []).append(structure)
        return situation

    def water_here(self) -> bool:
        return self.here_resources.get("WATER", 0) > 0

    def sheltered_here(self) -> bool:
        usable = [s for kind in SHELTERS for s in self.structures_here.get(kind, [])]
        cave = self.memory.places.get(self.location_id)
        return any(s.usable_by_me for s in usable) or bool(cave and "Cave" in cave.name)

    def can(self, action_type: str, option: str = "") -> bool:
        """The perception lists this action (and, when given, this option of it)."""
        if action_type not in self.available:
            return False
        if not option:
            return True
        listed = self.options.get(action_type, [])
        return option in listed or option.lower() in listed

    def agent_targets(self, action_type: str) -> list[str]:
        return self.targets.get(action_type, [])

    def others(self) -> list[perception_pb2.AgentSighting]:
        """The agents here by id (sorted once per decision)."""
        cached = self.cache.get("others")
        if cached is None:
            cached = self.cache["others"] = sorted(
                self.perception.agents, key=lambda other: other.agent_id
            )
        return cached  # type: ignore[return-value]

    def failed_recently(self, action_type: str, target: str = "") -> bool:
        return recently_failed(self.memory, action_type, target, self.tick)

    def did_lately(self, action_type: str, ticks: int) -> bool:
        return done_within(self.memory, action_type, ticks, self.tick)

    def act(self, action_type: str, **values: object) -> action_pb2.Action:
        return make_action(self.agent_id, action_type, **values)

    # ----- what the agent knows how to make (read from the perception, never a copy) -------
    def recipe(self, product: str, action_type: str = "") -> perception_pb2.Recipe | None:
        """The recipe the agent knows for `product` (a structure kind or resource name)."""
        wanted = ACTION_TYPES.get(action_type, 0)
        for known_product, known_type, recipe in self._recipes():
            if known_product == product and (not wanted or known_type == wanted):
                return recipe
        return None

    def recipes_of(self, action_type: str) -> list[perception_pb2.Recipe]:
        wanted = ACTION_TYPES[action_type]
        return [recipe for _, known_type, recipe in self._recipes() if known_type == wanted]

    def _recipes(self) -> list[tuple[str, int, perception_pb2.Recipe]]:
        """(product, action type, recipe) of every recipe the perception lists, read once."""
        cached = self.cache.get("recipes")
        if cached is None:
            cached = self.cache["recipes"] = [
                (recipe.product, recipe.action_type, recipe) for recipe in self.perception.recipes
            ]
        return cached  # type: ignore[return-value]

    def food_value(self, food: str) -> float:
        """Hunger one unit removes, as the perception states it (0 for what is not food)."""
        return self.food_values.get(food, 0.0)

    def free_here(self) -> set[str]:
        """Goods with a natural source here: anyone present can gather them."""
        return {name for name, rank in self.here_resources.items() if rank > 0}


def _read_available(situation: Situation, perception: perception_pb2.Perception) -> None:
    """The actions listed, their options, and the agents each agent-targeted action may name."""
    available, options, targets = situation.available, situation.options, situation.targets
    sighted: list[str] | None = None
    for entry in perception.available_actions:
        name = ACTION_NAMES.get(entry.action_type, "")
        available[name] = entry
        listed = entry.options
        if not listed:
            options[name] = []
            continue
        raw = listed.get("candidates", "")
        options[name] = [option for option in raw.split(",") if option] if raw else []
        target = listed.get("target_agent_id", "")
        if target == AGENTS_HERE_TOKEN:
            # "Any agent here": the mind picks among those it sees (the listed few).
            if sighted is None:
                sighted = sorted(other.agent_id for other in perception.agents)
            targets[name] = sighted
        elif target:
            targets[name] = [agent_id for agent_id in target.split(",") if agent_id]


def shortest_paths(situation: Situation) -> Iterator[tuple[str, str, int]]:
    """Every place the remembered routes lead to from here, nearest first: its id, the move
    option (destination id or "route:<id>") starting the shortest path, and the path's travel
    ticks. Here itself is not yielded."""
    places = situation.memory.places
    frontier: list[tuple[int, str, str]] = [(0, situation.location_id, "")]
    best: dict[str, int] = {situation.location_id: 0}
    while frontier:
        cost, place_id, first = heapq.heappop(frontier)
        if cost > best.get(place_id, cost):
            continue
        if first:
            yield place_id, first, cost
        place = places.get(place_id)
        if place is None:
            continue
        for _, (destination, ticks) in sorted(place.routes.items()):
            if not destination:
                continue
            total = cost + ticks
            if total < best.get(destination, 1 << 30):
                best[destination] = total
                heapq.heappush(frontier, (total, destination, first or destination))


def first_step(situation: Situation, goals: set[str]) -> tuple[str, int] | None:
    """The move option starting the shortest known path to any of `goals`, with the path's
    travel ticks; None when no remembered path leads there (or the agent is at one)."""
    if situation.location_id in goals:
        return None
    for place_id, first, cost in shortest_paths(situation):
        if place_id in goals:
            return first, cost
    return None


def move_option(situation: Situation, destination: str) -> action_pb2.Action | None:
    """A MOVE action to a neighbouring destination id or along "route:<id>", if listed now."""
    if not situation.can("MOVE", destination):
        return None
    if destination.startswith("route:"):
        return situation.act("MOVE", route_id=destination.removeprefix("route:"))
    return situation.act("MOVE", destination_id=destination)
