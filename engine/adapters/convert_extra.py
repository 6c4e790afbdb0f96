"""Protobuf form of the perception's recipes, food values and birth terms (engine/core/perception_extra)."""

from __future__ import annotations

from emergence.v1 import action_pb2, common_pb2, perception_pb2
from engine.core.perception_extra import FoodValueView, PerceptionExtra, RecipeView

_RESOURCE = {n.removeprefix("RESOURCE_"): v for n, v in common_pb2.Resource.items()}
_STRUCTURE = {n.removeprefix("STRUCTURE_KIND_"): v for n, v in common_pb2.StructureKind.items()}
_ACTION = {n.removeprefix("ACTION_TYPE_"): v for n, v in action_pb2.ActionType.items()}

# The same tuple of recipes (or foods) is shared by every agent who knows the same things: each
# is converted once, by identity, and copied into each perception.
_RECIPES: dict[int, tuple[tuple[RecipeView, ...], list[perception_pb2.Recipe]]] = {}
_FOODS: dict[int, tuple[tuple[FoodValueView, ...], list[perception_pb2.FoodValue]]] = {}
_CACHE_LIMIT = 4096


def _amounts(pairs: tuple[tuple[str, int], ...]) -> list[common_pb2.ResourceAmount]:
    return [
        common_pb2.ResourceAmount(resource=_RESOURCE.get(name, 0), quantity=quantity)  # type: ignore[arg-type]
        for name, quantity in pairs
    ]


def _recipe(recipe: RecipeView) -> perception_pb2.Recipe:
    return perception_pb2.Recipe(
        action_type=_ACTION.get(recipe.action_type, 0),  # type: ignore[arg-type]
        product=recipe.product,
        inputs=_amounts(recipe.inputs),
        outputs=_amounts(recipe.outputs),
        knowledge=recipe.knowledge,
        needs_structure=_STRUCTURE.get(recipe.needs_structure, 0),  # type: ignore[arg-type]
        needs_tool=recipe.needs_tool,
    )


def _recipes(recipes: tuple[RecipeView, ...]) -> list[perception_pb2.Recipe]:
    cached = _RECIPES.get(id(recipes))
    if cached is None or cached[0] is not recipes:
        if len(_RECIPES) >= _CACHE_LIMIT:
            _RECIPES.clear()
        cached = _RECIPES[id(recipes)] = (recipes, [_recipe(recipe) for recipe in recipes])
    return cached[1]


def _foods(foods: tuple[FoodValueView, ...]) -> list[perception_pb2.FoodValue]:
    cached = _FOODS.get(id(foods))
    if cached is None or cached[0] is not foods:
        converted = [
            perception_pb2.FoodValue(
                food=_RESOURCE.get(f.food, 0),  # type: ignore[arg-type]
                hunger=f.hunger,
                energy=f.energy,
            )
            for f in foods
        ]
        cached = _FOODS[id(foods)] = (foods, converted)
    return cached[1]


def fill_extra(message: perception_pb2.Perception, extra: PerceptionExtra) -> None:
    """Copy the extra fields (30–34) into a perception message."""
    message.recipes.extend(_recipes(extra.recipes))
    message.foods.extend(_foods(extra.foods))
    terms = extra.life_terms
    life = message.life_terms
    life.reproduce_trust = terms.reproduce_trust
    life.reproduce_health = terms.reproduce_health
    life.birth_interval_ticks = terms.birth_interval_ticks
    life.ticks_until_child_allowed = terms.ticks_until_child_allowed
    life.maturity_ticks = terms.maturity_ticks
    message.not_inherited.extend(extra.not_inherited)
    message.not_teachable.extend(extra.not_teachable)
