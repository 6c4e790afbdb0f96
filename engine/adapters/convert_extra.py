"""Protobuf form of the perception's recipes, food values and birth terms (engine/core/perception_extra)."""

from __future__ import annotations

from typing import Any

from emergence.v1 import action_pb2, common_pb2, perception_pb2
from engine.adapters.wire import varint
from engine.core.perception_extra import FoodValueView, PerceptionExtra, RecipeView

_RESOURCE = {n.removeprefix("RESOURCE_"): v for n, v in common_pb2.Resource.items()}
_STRUCTURE = {n.removeprefix("STRUCTURE_KIND_"): v for n, v in common_pb2.StructureKind.items()}
_ACTION = {n.removeprefix("ACTION_TYPE_"): v for n, v in action_pb2.ActionType.items()}

# The same tuple of recipes (or foods) is shared by every agent who knows the same things: each
# is converted and serialized once, by identity, and added to each perception as bytes.
_RECIPES: dict[int, tuple[tuple[RecipeView, ...], bytes]] = {}
_FOODS: dict[int, tuple[tuple[FoodValueView, ...], bytes]] = {}
_CACHE_LIMIT = 4096


def _tag(name: str) -> bytes:
    """The wire tag of a length-delimited Perception field."""
    return varint(perception_pb2.Perception.DESCRIPTOR.fields_by_name[name].number << 3 | 2)


_RECIPES_TAG, _FOODS_TAG = _tag("recipes"), _tag("foods")


def _as_fields(tag: bytes, messages: list[Any]) -> bytes:
    """`messages` serialized as elements of a repeated Perception field."""
    parts: list[bytes] = []
    for message in messages:
        payload = message.SerializeToString()
        parts += (tag, varint(len(payload)), payload)
    return b"".join(parts)


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


def _recipes(recipes: tuple[RecipeView, ...]) -> bytes:
    cached = _RECIPES.get(id(recipes))
    if cached is None or cached[0] is not recipes:
        if len(_RECIPES) >= _CACHE_LIMIT:
            _RECIPES.clear()
        converted = _as_fields(_RECIPES_TAG, [_recipe(recipe) for recipe in recipes])
        cached = _RECIPES[id(recipes)] = (recipes, converted)
    return cached[1]


def _foods(foods: tuple[FoodValueView, ...]) -> bytes:
    cached = _FOODS.get(id(foods))
    if cached is None or cached[0] is not foods:
        if len(_FOODS) >= _CACHE_LIMIT:
            _FOODS.clear()
        converted = [
            perception_pb2.FoodValue(
                food=_RESOURCE.get(f.food, 0),  # type: ignore[arg-type]
                hunger=f.hunger,
                energy=f.energy,
            )
            for f in foods
        ]
        cached = _FOODS[id(foods)] = (foods, _as_fields(_FOODS_TAG, converted))
    return cached[1]


def extra_fields(extra: PerceptionExtra) -> bytes:
    """The recipes and food values, serialized as Perception fields (to merge with others)."""
    return _recipes(extra.recipes) + _foods(extra.foods)


def fill_extra(message: perception_pb2.Perception, extra: PerceptionExtra) -> None:
    """Copy the extra fields (30–34) into a perception message."""
    message.MergeFromString(extra_fields(extra))
    fill_terms(message, extra)


def fill_terms(message: perception_pb2.Perception, extra: PerceptionExtra) -> None:
    """The birth terms and the knowledge that is not passed on (fields 32-34)."""
    terms = extra.life_terms
    life = message.life_terms
    life.reproduce_trust = terms.reproduce_trust
    life.reproduce_health = terms.reproduce_health
    life.birth_interval_ticks = terms.birth_interval_ticks
    life.ticks_until_child_allowed = terms.ticks_until_child_allowed
    life.maturity_ticks = terms.maturity_ticks
    message.not_inherited.extend(extra.not_inherited)
    message.not_teachable.extend(extra.not_teachable)
