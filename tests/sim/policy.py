"""A sensible survival policy over perceptions (tests and benchmarks): drink, eat, stock up, rest."""

from __future__ import annotations

import random

from engine.core.actions import Action
from engine.core.perception import Perception

FOODS = ("COOKED", "FARMED", "MEAT", "FISH", "BERRY", "ROOT")
WORDS = ("none", "scarce", "limited", "moderate", "abundant", "plentiful")
WATER_PLACES = ("riverbank", "estuary", "mountain_cave", "tidal_pools", "underground_spring")


def survival_action(perception: Perception, rng: random.Random) -> Action:
    me = perception.self_view
    held = dict(me.inventory)
    available = {a.action_type: a for a in perception.available_actions}
    food_held = sum(q for r, q in held.items() if r in FOODS)
    if me.thirst >= 40 and "DRINK" in available:
        return Action("DRINK")
    if me.thirst >= 40 and held.get("WATER"):
        return Action("DRINK")
    if me.hunger >= 40 and food_held:
        return Action("EAT", resource=next(f for f in FOODS if held.get(f)))
    if me.thirst >= 40 and "DRINK" not in available and "MOVE" in available:
        return _move(available["MOVE"].options, rng, WATER_PLACES)
    if me.energy < 30:
        return Action("REST")
    gather = available.get("GATHER")
    candidates = gather.options.get("candidates", "").split(",") if gather else []
    stock = 40 if perception.season in ("SUMMER", "AUTUMN", "WINTER") else 8
    if held.get("WATER", 0) < 4 and "WATER" in candidates and me.carry_load < me.carry_capacity - 5:
        return Action("GATHER", resource="WATER")
    plenty = {
        r.resource: WORDS.index(r.amount_word) for r in perception.resources if not r.on_ground
    }
    food_here = sorted((f for f in FOODS if f in candidates), key=lambda f: -plenty.get(f, 0))
    if food_held < stock and food_here and me.carry_load < me.carry_capacity - 5:
        return Action("GATHER", resource=food_here[0])
    if food_held < 3 and not food_here and "MOVE" in available:
        return _move(available["MOVE"].options, rng, ("riverbank", "forest_edge", "estuary"))
    return Action("REST")


def _move(options: dict[str, str], rng: random.Random, preferred: tuple[str, ...]) -> Action:
    destinations = [o for o in options.get("candidates", "").split(",") if o]
    good = [o for o in destinations if o in preferred]
    choice = rng.choice(good or destinations)
    if choice.startswith("route:"):
        return Action("MOVE", route_id=choice.removeprefix("route:"))
    return Action("MOVE", target_id=choice)
