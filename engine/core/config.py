"""World rule numbers: every default of the world spec in a frozen dataclass tree, loadable from a dict.

Numbers the spec does not give are marked "invented" with the reason; docs/adr/0002-world-rules.md
lists them too.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field


class ConfigError(ValueError):
    """A world configuration value is unknown or of the wrong type; `key` is its dotted path."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"world config '{key}': {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class TimeConfig:
    season_length_ticks: int = 90
    times_of_day: int = 5
    lifespan_ticks: int = 2500
    lifespan_variation: float = 0.10
    night_energy_cost_multiplier: float = 1.25
    night_rest_multiplier: float = 1.5


@dataclass(frozen=True)
class SeasonConfig:
    """Regeneration and hunger multipliers per season (spring, summer, autumn, winter)."""

    # ADR 0019: winter regrowth 0.4 (the spec's 0.25): with food now spoiling, 100 agents on the
    # default map lost a fifth to a third of their number in the first 30 days of winter.

    regeneration: tuple[float, float, float, float] = (1.25, 1.0, 0.75, 0.4)
    hunger: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.5)
    autumn_harvest_yield_multiplier: float = 1.5
    # ADR 0019: wild plants (berries, roots, fiber, herbs) trampled where many live: past half a
    # place's capacity their regrowth falls linearly, to this share at full capacity. Off (1.0)
    # by default until the mind leaves crowded places: at 0.5 today's heuristic kept 66 of 100
    # agents alive to tick 300 on the default map, against 75 without it.
    crowded_plant_regeneration: float = 1.0


@dataclass(frozen=True)
class WeatherConfig:
    """Season-weighted weather draw; weights in order clear, rain, storm, drought, snow."""

    # Invented: the spec says "season-weighted" only. Snow only in winter, drought mostly in summer.
    spring_weights: tuple[float, float, float, float, float] = (0.55, 0.30, 0.10, 0.05, 0.0)
    summer_weights: tuple[float, float, float, float, float] = (0.60, 0.15, 0.10, 0.15, 0.0)
    autumn_weights: tuple[float, float, float, float, float] = (0.50, 0.30, 0.15, 0.05, 0.0)
    winter_weights: tuple[float, float, float, float, float] = (0.40, 0.15, 0.15, 0.0, 0.30)
    rain_extra_travel_ticks: int = 1
    snow_extra_travel_ticks: int = 2
    storm_decay_multiplier: float = 2.0
    snow_decay_multiplier: float = 1.5
    rain_farm_growth_multiplier: float = 1.25
    drought_water_regeneration_multiplier: float = 0.5
    # Invented: chance per tick a storm ruins a growing crop (crop is lost, farm stays).
    storm_crop_damage_chance: float = 0.1


@dataclass(frozen=True)
class VitalsConfig:
    maximum: float = 100.0
    hunger_per_tick: float = 5.0
    thirst_per_tick: float = 8.0
    starvation_health_loss: float = 10.0
    dehydration_health_loss: float = 15.0
    drink_thirst_removed: float = 30.0
    rest_energy: float = 30.0
    low_health_threshold: float = 30.0
    low_energy_threshold: float = 20.0
    heal_per_tick: float = 2.0
    medicine_health: float = 20.0
    elder_fraction: float = 0.8
    elder_energy_cap_at_death: float = 50.0
    frail_fraction: float = 0.9
    frail_move_cost_multiplier: float = 1.5
    # Invented: an unsheltered, unhealed agent still drifts back slowly so injuries are not permanent.
    passive_heal_per_tick: float = 0.5


@dataclass(frozen=True)
class FoodValue:
    hunger: float
    energy: float


def _default_foods() -> dict[str, FoodValue]:
    return {
        "BERRY": FoodValue(20, 5),
        "ROOT": FoodValue(15, 5),
        "FISH": FoodValue(30, 10),
        "MEAT": FoodValue(35, 15),
        "FARMED": FoodValue(40, 15),
        "COOKED": FoodValue(50, 20),
    }


def _default_weights() -> dict[str, int]:
    return {"STONE": 2, "ORE": 2, "METAL": 2}


def _default_spoilage() -> dict[str, float]:
    # Invented (ADR 0019): fish and meat lose half a carried stock in about 70 ticks, berries in
    # about 140, cooked (smoked, dried) food in about 350; roots and grain keep for years.
    return {
        "FISH": 0.01, "MEAT": 0.01, "BERRY": 0.005, "COOKED": 0.002, "ROOT": 0.001, "FARMED": 0.001,
    }  # fmt: skip


@dataclass(frozen=True)
class ResourceConfig:
    foods: Mapping[str, FoodValue] = field(default_factory=_default_foods)
    carry_capacity: int = 50
    # Every resource weighs 1 unless listed here.
    weights: Mapping[str, int] = field(default_factory=_default_weights)
    spoilage_per_tick: Mapping[str, float] = field(default_factory=_default_spoilage)
    # Invented (ADR 0019): a storage pit or hut keeps food four times longer than a pack or the
    # ground; knowing food preservation halves spoilage again; winter's cold halves it.
    storage_spoilage_multiplier: float = 0.25
    preservation_spoilage_multiplier: float = 0.5
    winter_spoilage_multiplier: float = 0.5


def _default_energy() -> dict[str, float]:
    return {
        "NO_ACTION": 0, "GATHER": 10, "EAT": 0, "DRINK": 0, "REST": 0, "MOVE": 15,
        "EXPLORE": 20, "PICKUP": 2, "HEAL": 5, "BUILD": 25, "REPAIR": 15, "DEMOLISH": 20,
        "IMPROVE_ROUTE": 30, "DEPOSIT": 2, "WITHDRAW": 2, "COMMUNICATE": 2, "BROADCAST": 5,
        "TRADE_OFFER": 2, "TRADE_ACCEPT": 0, "TRADE_REJECT": 0, "GIVE": 2, "FORM_GROUP": 5,
        "JOIN_GROUP": 2, "LEAVE_GROUP": 2, "TEACH": 10, "FARM_PLANT": 20, "FARM_HARVEST": 10,
        "CRAFT": 20, "COOK": 5, "MINE": 20, "SMELT": 20, "WRITE": 5, "READ": 5, "CLAIM": 5,
        "LEGISLATE": 10, "ENFORCE": 15, "REPRODUCE": 30, "STEAL": 15, "ATTACK": 20,
        "PROPOSE": 5, "VOTE": 2, "MARRY": 10, "DIVORCE": 5, "CONSPIRE": 10, "PRAY": 5,
        "FREEFORM": 10,
    }  # fmt: skip


# Survival actions stay possible below the low-energy threshold.
SURVIVAL_ACTIONS = frozenset({"NO_ACTION", "EAT", "DRINK", "REST", "GATHER", "PICKUP", "HEAL"})


@dataclass(frozen=True)
class ActionConfig:
    energy: Mapping[str, float] = field(default_factory=_default_energy)
    student_energy: float = 5.0
    gather_base_yield: int = 3
    tool_gather_multiplier: float = 1.5
    text_limit: int = 500
    prayer_text_limit: int = 200
    trade_offer_ttl_ticks: int = 3
    bond_request_ttl_ticks: int = 2
    proposal_ttl_ticks: int = 5
    teach_base_success: float = 0.8
    teach_skill_bonus: float = 0.05
    xp_per_level: int = 10  # invented: 10 uses of a skill raise it one level
    max_skill_level: int = 10
    # Invented: explore reveals a hidden route from here with this chance (curiosity adds half again).
    explore_reveal_chance: float = 0.3
    steal_base_success: float = 0.5
    steal_max_quantity: int = 3
    attack_base_damage: float = 20.0
    tool_combat_bonus: float = 10.0
    mine_yield: int = 2
    smelt_ore: int = 2
    smelt_wood: int = 1
    cook_raw_food: int = 1
    max_group_members: int = 50
    max_goals: int = 5
    # Invented: a standing offer at a market lasts a season unless withdrawn or taken; its goods
    # wait in the market meanwhile and go back to the offerer when it lapses.
    market_offer_ttl_ticks: int = 90
    # Invented: a false claim can be found out for this long after it was made.
    deception_memory_ticks: int = 50


@dataclass(frozen=True)
class TrustConfig:
    """How acts move trust (−1..1). Invented; tuned so steady cooperation passes 0.7 in ~30 ticks."""

    trade: float = 0.08
    gift: float = 0.1
    teach: float = 0.1
    conversation: float = 0.03
    group_join: float = 0.05
    marriage: float = 0.1
    theft_victim: float = -0.4
    theft_witness: float = -0.15
    attack_victim: float = -0.6
    attack_witness: float = -0.2
    trade_rejected: float = -0.01
    reputation_theft: float = -0.1
    reputation_generous: float = 0.03
    # Invented: finding out a lie costs the liar this much of the deceived one's trust.
    deception_discovered: float = -0.3


@dataclass(frozen=True)
class StructureKindConfig:
    cost: Mapping[str, int]
    blueprint: str
    rest_multiplier: float = 1.0
    storage: int = 0
    capacity: int = 0
    decay_per_tick: float = 0.5
    shelter: bool = False


def _default_structures() -> dict[str, StructureKindConfig]:
    k = StructureKindConfig
    return {
        # Invented: campfires "decay fast" = 5 per tick (20 ticks of fire from 3 wood).
        "CAMPFIRE": k({"WOOD": 3}, "build_campfire", decay_per_tick=5.0),
        "LEAN_TO": k({"WOOD": 8}, "build_lean_to", 1.2, capacity=1, shelter=True),
        # Invented (ADR 0023): what is built of stone outlasts the spec's default 0.5 a tick (a
        # lean-to of branches falls within a year unmended, a stone well stands for ten).
        "BASIC_HUT": k(
            {"WOOD": 20, "STONE": 10}, "build_hut", 1.5, 20, 2, decay_per_tick=0.25, shelter=True
        ),
        "STORAGE_PIT": k({"STONE": 10, "WOOD": 5}, "build_storage", storage=50, decay_per_tick=0.2),
        "WELL": k({"STONE": 20}, "masonry", decay_per_tick=0.1),
        "FARM_PLOT": k({"WOOD": 15}, "agriculture", decay_per_tick=0.3),
        "WORKSHOP": k({"WOOD": 30, "STONE": 20}, "basic_tools", decay_per_tick=0.2),
        "MEETING_HALL": k({"WOOD": 50, "STONE": 30}, "governance", decay_per_tick=0.2),
        "FORGE": k({"STONE": 40, "WOOD": 20}, "build_forge", decay_per_tick=0.15),
        "LIBRARY": k({"WOOD": 60, "STONE": 40}, "library", decay_per_tick=0.2),
        "MARKET": k({"WOOD": 50, "STONE": 30}, "currency_concept", decay_per_tick=0.2),
        "WALL": k({"STONE": 100, "WOOD": 50}, "build_wall", decay_per_tick=0.1),
        "BRIDGE": k({"WOOD": 80, "STONE": 40}, "bridge_building", decay_per_tick=0.15),
    }


@dataclass(frozen=True)
class StructureConfig:
    kinds: Mapping[str, StructureKindConfig] = field(default_factory=_default_structures)
    occupied_decay_multiplier: float = 0.5
    salvage_fraction: float = 0.3
    # Invented: a structure sheds its materials into the void in proportion to durability lost.
    well_regeneration: int = 10
    well_maximum: int = 50
    # Invented: a bridge's crossing takes as long as a worn path (3 ticks).
    bridge_travel_ticks: int = 3


def _default_upgrades() -> dict[str, Mapping[str, int]]:
    return {
        "NONE": {"WOOD": 10},
        "DIRT_TRAIL": {"WOOD": 20, "STONE": 10},
        "WORN_PATH": {"WOOD": 50, "STONE": 30},
        "ROAD": {"WOOD": 100, "STONE": 80, "METAL": 20},
    }


def _default_path_ticks() -> dict[str, int]:
    return {"NONE": 8, "DIRT_TRAIL": 5, "WORN_PATH": 3, "ROAD": 2, "HIGHWAY": 1}


@dataclass(frozen=True)
class RouteConfig:
    base_travel_ticks: Mapping[str, int] = field(default_factory=_default_path_ticks)
    upgrade_costs: Mapping[str, Mapping[str, int]] = field(default_factory=_default_upgrades)
    # Invented: built paths lose 0.2 durability per tick; at 0 they fall back one path type.
    built_path_decay_per_tick: float = 0.2


@dataclass(frozen=True)
class FarmingConfig:
    ripen_ticks: int = 10
    harvest_yield: int = 8
    seed_quantity: int = 1


@dataclass(frozen=True)
class KnowledgeConfig:
    seed_level: int = 1
    # Chance × 2 × curiosity per try of the specific experiments (raw food by a campfire → cooking…).
    experimentation_chance: float = 0.15
    # Invented (ADR 0019): each use of a known item may reveal an item it leads to, at this chance
    # × 2 × curiosity; practice, not luck, is how the tree is climbed.
    practice_experimentation_chance: float = 0.01
    observation_factor: float = 0.3
    # ADR 0019: the spec's 2 % per tick unlocked the whole tree by accident within ~500 ticks.
    accidental_chance: float = 0.0005
    # ADR 0019 (writing): a reading teaches with this chance, more for the literate (written
    # language known) and in a library; a tablet left outside a library lasts this long.
    reading_chance: float = 0.35
    reading_literacy_bonus: float = 0.45
    reading_library_bonus: float = 0.2
    writing_lasts_ticks: int = 1000


@dataclass(frozen=True)
class PopulationConfig:
    cap: int = 200
    maturity_ticks: int = 200
    reproduce_trust: float = 0.7
    reproduce_health: float = 50.0
    mutation: float = 0.1
    # Invented: a parent can have another child only after this many ticks (else births snowball).
    birth_interval_ticks: int = 100
    personality_mode: str = "random"  # random | balanced


@dataclass(frozen=True)
class DangerConfig:
    injury_damage: float = 15.0
    volcanic_damage: float = 5.0
    plague_health_loss: float = 3.0


@dataclass(frozen=True)
class WorldConfig:
    time: TimeConfig = field(default_factory=TimeConfig)
    seasons: SeasonConfig = field(default_factory=SeasonConfig)
    weather: WeatherConfig = field(default_factory=WeatherConfig)
    vitals: VitalsConfig = field(default_factory=VitalsConfig)
    resources: ResourceConfig = field(default_factory=ResourceConfig)
    actions: ActionConfig = field(default_factory=ActionConfig)
    trust: TrustConfig = field(default_factory=TrustConfig)
    structures: StructureConfig = field(default_factory=StructureConfig)
    routes: RouteConfig = field(default_factory=RouteConfig)
    farming: FarmingConfig = field(default_factory=FarmingConfig)
    knowledge: KnowledgeConfig = field(default_factory=KnowledgeConfig)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    danger: DangerConfig = field(default_factory=DangerConfig)


def load_world_config(raw: Mapping[str, object] | None) -> WorldConfig:
    """Build a WorldConfig from a (partial) dict; unknown keys and wrong types raise ConfigError."""
    if raw is None:
        return WorldConfig()
    config = _build(WorldConfig, raw, "")
    assert isinstance(config, WorldConfig)
    return config


def _build(cls: type[typing.Any], raw: object, prefix: str) -> typing.Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(prefix or "(root)", f"expected a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, object] = {}
    for key, value in raw.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if key not in names:
            raise ConfigError(path, f"unknown key; known keys here: {', '.join(sorted(names))}")
        coerced = _coerce(hints[str(key)], value, path)
        default = _default_of(cls, str(key))
        if isinstance(coerced, dict) and isinstance(default, Mapping):
            coerced = {**default, **coerced}  # a partial table overrides only the keys it names
        values[str(key)] = coerced
    return cls(**values)


def _default_of(cls: type[typing.Any], name: str) -> object:
    for item in dataclasses.fields(cls):
        if item.name == name and item.default_factory is not dataclasses.MISSING:
            return item.default_factory()
    return None


def _coerce(hint: object, value: object, path: str) -> object:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _build(hint, value, path)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, f"expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, f"expected a whole number, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(path, f"expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(path, f"expected text, got {value!r}")
        return value
    if origin is tuple:
        return _coerce_tuple(hint, value, path)
    if origin in (Mapping, dict) or origin is typing.get_origin(Mapping[str, int]):
        return _coerce_mapping(hint, value, path)
    if isinstance(hint, types.UnionType):
        raise ConfigError(path, "unsupported union type in config")
    raise ConfigError(path, f"unsupported config type {hint!r}")


def _coerce_tuple(hint: object, value: object, path: str) -> tuple[object, ...]:
    arguments = typing.get_args(hint)
    if not isinstance(value, list | tuple) or len(value) != len(arguments):
        raise ConfigError(path, f"expected a list of {len(arguments)} numbers, got {value!r}")
    return tuple(
        _coerce(a, v, f"{path}[{i}]")
        for i, (a, v) in enumerate(zip(arguments, value, strict=False))
    )


def _coerce_mapping(hint: object, value: object, path: str) -> dict[str, object]:
    _, value_hint = typing.get_args(hint)
    if not isinstance(value, Mapping):
        raise ConfigError(path, f"expected a mapping, got {value!r}")
    return {str(k): _coerce(value_hint, v, f"{path}.{k}") for k, v in value.items()}
