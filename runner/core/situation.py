"""One agent's situation read from its perception and memory: needs, holdings, options, paths."""

from __future__ import annotations

import heapq
import random
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


@dataclass(frozen=True, slots=True)
class Candidate:
    """A possible action, how much the agent wants it now, and why."""

    score: float
    action: action_pb2.Action
    reason: str


@dataclass(slots=True)
class Situation:
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

    @classmethod
    def read(
        cls, perception: perception_pb2.Perception, memory: AgentMemory, rng: random.Random
    ) -> Situation:
        situation = cls(perception, memory, rng)
        me = perception.self
        for amount in me.inventory:
            name = RESOURCE_NAMES.get(amount.resource, "")
            if name and amount.quantity > 0:
                situation.inventory[name] = situation.inventory.get(name, 0) + int(amount.quantity)
        situation.knowledge = set(me.knowledge)
        sighted: list[str] | None = None
        for available in perception.available_actions:
            name = ACTION_NAMES.get(available.action_type, "")
            situation.available[name] = available
            options = available.options
            raw = options.get("candidates", "")
            situation.options[name] = [option for option in raw.split(",") if option]
            target = options.get("target_agent_id", "")
            if target == AGENTS_HERE_TOKEN:
                # "Any agent here": the mind picks among those it sees (the listed few).
                if sighted is None:
                    sighted = sorted(other.agent_id for other in perception.agents)
                situation.targets[name] = sighted
            elif target:
                situation.targets[name] = [agent_id for agent_id in target.split(",") if agent_id]
        for sighting in perception.resources:
            if not sighting.on_ground:
                name = RESOURCE_NAMES.get(sighting.resource, "")
                situation.here_resources[name] = amount_rank(sighting.amount_word)
        for structure in perception.structures:
            kind = STRUCTURE_NAMES.get(structure.kind, "")
            situation.structures_here.setdefault(kind, []).append(structure)
        return situation

    # ----- plain facts ---------------------------------------------------------------------
    @property
    def agent_id(self) -> str:
        return str(self.perception.agent_id)

    @property
    def tick(self) -> int:
        return int(self.perception.tick)

    @property
    def traits(self) -> common_pb2.Personality:
        return self.perception.self.personality

    @property
    def thirst(self) -> float:
        return float(self.perception.self.vitals.thirst)

    @property
    def hunger(self) -> float:
        return float(self.perception.self.vitals.hunger)

    @property
    def energy(self) -> float:
        return float(self.perception.self.vitals.energy)

    @property
    def health(self) -> float:
        return float(self.perception.self.vitals.health)

    @property
    def location_id(self) -> str:
        return str(self.perception.self.location_id)

    @property
    def season(self) -> str:
        return SEASONS.get(self.perception.clock.season, "SPRING")

    @property
    def night(self) -> bool:
        return bool(self.perception.sleeping) or (
            self.perception.clock.time_of_day == common_pb2.TIME_OF_DAY_NIGHT
        )

    @property
    def is_child(self) -> bool:
        return self.perception.self.life_stage == common_pb2.LIFE_STAGE_CHILD

    @property
    def food_held(self) -> int:
        return sum(self.inventory.get(food, 0) for food in FOODS)

    @property
    def water_held(self) -> int:
        return self.inventory.get("WATER", 0)

    @property
    def carry_room(self) -> int:
        me = self.perception.self
        return int(me.carry_capacity) - int(me.carry_load)

    @property
    def comfortable(self) -> bool:
        """Needs are met well enough to think about anything else."""
        return self.thirst < 55 and self.hunger < 55 and self.energy > 30 and self.health > 30

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
        for recipe in self.perception.recipes:
            if recipe.product == product and (not wanted or recipe.action_type == wanted):
                return recipe
        return None

    def recipes_of(self, action_type: str) -> list[perception_pb2.Recipe]:
        wanted = ACTION_TYPES[action_type]
        return [recipe for recipe in self.perception.recipes if recipe.action_type == wanted]

    def food_value(self, food: str) -> float:
        """Hunger one unit removes, as the perception states it (0 for what is not food)."""
        for value in self.perception.foods:
            if RESOURCE_NAMES.get(value.food) == food:
                return float(value.hunger)
        return 0.0

    def free_here(self) -> set[str]:
        """Goods with a natural source here: anyone present can gather them."""
        return {name for name, rank in self.here_resources.items() if rank > 0}


def first_step(situation: Situation, goals: set[str]) -> tuple[str, int] | None:
    """The move option (destination id or "route:<id>") starting the shortest known path to any
    of `goals`, with the path's travel ticks; None when no remembered path leads there."""
    start = situation.location_id
    if start in goals:
        return None
    places = situation.memory.places
    frontier: list[tuple[int, str, str]] = [(0, start, "")]
    best: dict[str, int] = {start: 0}
    while frontier:
        cost, place_id, first = heapq.heappop(frontier)
        if place_id in goals and first:
            return first, cost
        if cost > best.get(place_id, cost):
            continue
        place = places.get(place_id)
        if place is None:
            continue
        for _, (destination, ticks) in sorted(place.routes.items()):
            if not destination:
                continue
            total = cost + ticks
            if total < best.get(destination, 1 << 30):
                best[destination] = total
                step = first or destination
                heapq.heappush(frontier, (total, destination, step))
    return None


def move_option(situation: Situation, destination: str) -> action_pb2.Action | None:
    """A MOVE action to a neighbouring destination id or along "route:<id>", if listed now."""
    if not situation.can("MOVE", destination):
        return None
    if destination.startswith("route:"):
        return situation.act("MOVE", route_id=destination.removeprefix("route:"))
    return situation.act("MOVE", destination_id=destination)
