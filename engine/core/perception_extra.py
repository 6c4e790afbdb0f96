"""What an agent knows about making things and having children, read from the world's rules.

A mind must not carry its own copy of the blueprints, recipes, food values or birth terms: it
reads them here, in its perception. Only what the agent knows is sent (a recipe appears once its
knowledge is learnt), and the parts shared by many agents are built once and reused.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.core.act_craft import RAW_FOODS, RECIPES
from engine.core.config import WorldConfig
from engine.core.knowledge import ADVANCED_ITEMS, EXPERIENCE_ITEMS
from engine.core.state import Agent, WorldState

Amounts = tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class RecipeView:
    action_type: str  # BUILD, CRAFT, COOK, SMELT, MINE
    product: str
    inputs: Amounts
    outputs: Amounts
    knowledge: str
    needs_structure: str = ""
    needs_tool: bool = False


@dataclass(frozen=True, slots=True)
class FoodValueView:
    food: str
    hunger: float
    energy: float


@dataclass(frozen=True, slots=True)
class LifeTermsView:
    reproduce_trust: float
    reproduce_health: float
    birth_interval_ticks: int
    ticks_until_child_allowed: int
    maturity_ticks: int


@dataclass(frozen=True, slots=True)
class PerceptionExtra:
    recipes: tuple[RecipeView, ...]
    foods: tuple[FoodValueView, ...]
    life_terms: LifeTermsView
    not_inherited: tuple[str, ...]
    not_teachable: tuple[str, ...]


def all_recipes(config: WorldConfig) -> tuple[RecipeView, ...]:
    """Every recipe of the world, in a fixed order: structures, crafts, cooking, smelting, mining."""
    recipes = [
        RecipeView("BUILD", kind, tuple(sorted(spec.cost.items())), (), spec.blueprint)
        for kind, spec in sorted(config.structures.kinds.items())
    ]
    recipes += [
        RecipeView(
            "CRAFT",
            item,
            tuple(sorted(recipe.inputs.items())),
            tuple(sorted(recipe.outputs.items())),
            recipe.knowledge,
            "WORKSHOP",
        )
        for item, recipe in sorted(RECIPES.items())
    ]
    cooked = (("COOKED", config.actions.cook_raw_food),)
    recipes += [
        RecipeView("COOK", food, ((food, 1),), cooked, "cooking", "CAMPFIRE")
        for food in sorted(RAW_FOODS)
    ]
    actions = config.actions
    smelt_inputs = tuple(sorted({"ORE": actions.smelt_ore, "WOOD": actions.smelt_wood}.items()))
    recipes.append(RecipeView("SMELT", "METAL", smelt_inputs, (("METAL", 1),), "smelting", "FORGE"))
    recipes.append(
        RecipeView("MINE", "ORE", (), (("ORE", actions.mine_yield),), "mining", "", True)
    )
    return tuple(recipes)


# (id of the config, the agent's knowledge) -> (the config, the recipes it knows)
_KNOWN: dict[tuple[int, frozenset[str]], tuple[WorldConfig, tuple[RecipeView, ...]]] = {}
_ALL: dict[int, tuple[WorldConfig, tuple[RecipeView, ...], tuple[FoodValueView, ...]]] = {}
_CACHE_LIMIT = 4096
_NOT_INHERITED = ADVANCED_ITEMS | EXPERIENCE_ITEMS


def _world_tables(config: WorldConfig) -> tuple[tuple[RecipeView, ...], tuple[FoodValueView, ...]]:
    cached = _ALL.get(id(config))
    if cached is None or cached[0] is not config:
        foods = tuple(
            FoodValueView(food, value.hunger, value.energy)
            for food, value in sorted(config.resources.foods.items())
        )
        cached = _ALL[id(config)] = (config, all_recipes(config), foods)
    return cached[1], cached[2]


def known_recipes(config: WorldConfig, knowledge: frozenset[str]) -> tuple[RecipeView, ...]:
    """The recipes whose knowledge the agent has; agents who know the same share one tuple."""
    key = (id(config), knowledge)
    cached = _KNOWN.get(key)
    if cached is None or cached[0] is not config:
        if len(_KNOWN) >= _CACHE_LIMIT:
            _KNOWN.clear()
        recipes = tuple(r for r in _world_tables(config)[0] if r.knowledge in knowledge)
        cached = _KNOWN[key] = (config, recipes)
    return cached[1]


def perception_extra(state: WorldState, agent: Agent) -> PerceptionExtra:
    config = state.config
    knowledge = frozenset(agent.knowledge)
    population = config.population
    waited = state.tick - agent.last_child_tick
    return PerceptionExtra(
        recipes=known_recipes(config, knowledge),
        foods=_world_tables(config)[1],
        life_terms=LifeTermsView(
            population.reproduce_trust,
            population.reproduce_health,
            population.birth_interval_ticks,
            max(0, population.birth_interval_ticks - waited),
            population.maturity_ticks,
        ),
        not_inherited=tuple(sorted(knowledge & _NOT_INHERITED)),
        not_teachable=tuple(sorted(knowledge & EXPERIENCE_ITEMS)),
    )
