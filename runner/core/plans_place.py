"""Where to live and what to keep: settle where food and water go further, store before winter,
take from the store when hungry, mend what the agent relies on."""

from __future__ import annotations

import math

from runner.core.memory import Place
from runner.core.plans_craft import food_kept, room_for_materials
from runner.core.situation import Candidate, Situation, first_step, move_option
from runner.core.vocabulary import FOODS, RAW_FOODS, RESOURCE_NAMES

FOOD_RANK_RESOURCES = (*RAW_FOODS, "FARMED")
# A better place must promise this much more (in resource ranks per head) to be worth the road.
SETTLE_MARGIN = 1.0
# What a place known only by name is hoped to be worth (an uncrowded place with some water).
UNSEEN_HOPE = 3.0
# Water carried before setting off for a place never seen (it may have none).
WATER_FOR_THE_UNKNOWN = 6


def place_value(place: Place, crowd: int, danger: float) -> float:
    """How well a place would feed and water one more person: its food and water ranks shared
    among those there, less what has happened to people there."""
    water = min(3, place.resources.get("WATER", 0))
    food = sum(place.resources.get(food, 0) for food in FOOD_RANK_RESOURCES)
    # Without water every drink is carried from elsewhere, and a child there cannot fetch one.
    return (water * 1.5 + food) / (1 + crowd / 4) - 2 * danger + (1.0 if water else -6.0)


def settle(situation: Situation) -> list[Candidate]:
    """Move when this place is crowded or depleted and a remembered place would do better."""
    if situation.is_child or not situation.comfortable or situation.carry_room < 0:
        return []
    memory = situation.memory
    here = memory.places.get(situation.location_id)
    if here is None:
        return []
    here_id = situation.location_id
    crowd_here = len(situation.perception.agents)
    value_here = place_value(here, crowd_here, memory.danger.get(here_id, 0.0))
    # Ties keep one: partner, children and group here make leaving cost more.
    ties = sum(1 for other in situation.perception.agents if other.is_partner or other.is_kin)
    traits = situation.traits
    margin = SETTLE_MARGIN + 0.8 * ties + 1.5 * traits.loyalty - 1.0 * traits.curiosity
    if value_here >= 6 + margin:
        return []  # plenty here: no reason to look further
    best_id, best_value = "", value_here + margin
    for place_id, place in sorted(memory.places.items()):
        if place_id == here_id:
            continue
        if place.seen_tick < 0:
            # Known by name only: hope, larger for the curious, if there is water to come back.
            if situation.water_held < WATER_FOR_THE_UNKNOWN:
                continue
            value = UNSEEN_HOPE + traits.curiosity
        else:
            value = place_value(place, place.crowd, memory.danger.get(place_id, 0.0))
        if value > best_value:
            best_id, best_value = place_id, value
    if not best_id:
        return []
    # The road needs water and food to cross; stock up first (survival plans do that).
    if situation.water_held < 3 or situation.food_held < 3:
        return []
    step = first_step(situation, {best_id})
    action = move_option(situation, step[0]) if step else None
    if action is None:
        return []
    gain = best_value - value_here
    name = memory.places[best_id].name
    return [
        # A move is one tick that pays every tick after: it outweighs most chores.
        Candidate(0.6 + min(0.6, 0.15 * gain), action, f"settle at {name} (better by {gain:.1f})")
    ]


# Food kept in the pack at least: the next few days' eating (about BUFFER_TICKS of hunger).
PACK_FOOD = 8
# Taken out at once: the next few days' food.
WITHDRAW_FOOD = 8


def store(situation: Situation) -> list[Candidate]:
    """Keep food held beyond what the agent means to carry in a store at home (it keeps four times
    longer there, and a lean season is eaten from it); take it out when the pack runs low."""
    return [*_deposit(situation), *_withdraw(situation)]


def _deposit(situation: Situation) -> list[Candidate]:
    stores = situation.options.get("DEPOSIT", [])
    memory = situation.memory
    if not stores or situation.location_id != memory.home_id:
        return []
    # Perishable food first: what would spoil soonest in the pack gains most from the store.
    held = [(food, situation.inventory.get(food, 0)) for food in reversed(FOODS)]
    spare = situation.food_held - max(PACK_FOOD, food_kept(situation))
    for food, quantity in sorted(held, key=lambda pair: (-_perishability(pair[0]), pair[0])):
        moving = min(quantity, spare)
        if moving < 3:
            continue
        own = [sid for sid in stores if sid in memory.stored] or stores
        if situation.failed_recently("DEPOSIT"):
            return []
        action = situation.act("DEPOSIT", structure_id=own[0], item=(food, moving))
        lean = situation.season in ("AUTUMN", "WINTER")
        score = 0.35 + 0.3 * situation.traits.industriousness + (0.15 if lean else 0.0)
        return [Candidate(score, action, f"store {moving} {food.lower()} at home")]
    return []


def _perishability(food: str) -> int:
    """Raw flesh and fruit go off first, cooked food later, roots and grain keep (the order of
    FOODS, whose last entries spoil soonest, is not the order of spoiling)."""
    return {"FISH": 3, "MEAT": 3, "BERRY": 2, "COOKED": 1}.get(food, 0)


def _withdraw(situation: Situation) -> list[Candidate]:
    memory = situation.memory
    listed = set(situation.options.get("WITHDRAW", []))
    mine = {sid: held for sid, held in sorted(memory.stored.items()) if sid in listed}
    low = situation.food_held < PACK_FOOD // 2
    if not mine or not low or (situation.hunger < 30 and situation.season != "WINTER"):
        return []
    for structure_id, held in mine.items():
        # The food that keeps worst is eaten first.
        foods = sorted(
            (f for f in FOODS if held.get(f, 0) > 0), key=lambda f: (-_perishability(f), f)
        )
        if foods:
            quantity = min(held[foods[0]], WITHDRAW_FOOD)
            action = situation.act("WITHDRAW", structure_id=structure_id, item=(foods[0], quantity))
            return [Candidate(0.5 + situation.hunger / 60, action, "take food from the store")]
    return []


# A structure relied on is mended once worn below this (durability percent): well before it falls.
MEND_BELOW = 70


def mend(situation: Situation) -> list[Candidate]:
    """Keep up a structure here that the agent relies on: mend it when worn and the materials are
    held, else gather what mending will take while it still stands (a fallen structure costs its
    whole price again; mending costs the share worn away). Its own structures matter most."""
    if not situation.comfortable:
        return []
    repairable = set(situation.options.get("REPAIR", []))
    worn = [
        (structure.durability_percent, kind, structure)
        for kind in sorted(situation.structures_here)
        if kind != "CAMPFIRE"
        for structure in situation.structures_here[kind]
        if structure.usable_by_me and structure.durability_percent < MEND_BELOW
    ]
    if not worn:
        return []
    durability, kind, structure = min(worn, key=lambda item: (item[0], item[2].structure_id))
    wear = 1 - durability / 100
    own = 1.0 if structure.owner == "you" else 0.6
    care = 0.3 + 0.4 * situation.traits.industriousness
    name = kind.lower().replace("_", " ")
    if structure.structure_id in repairable:
        action = situation.act("REPAIR", structure_id=structure.structure_id)
        return [Candidate(care + 0.6 * own * wear, action, f"mend the {name}")]
    recipe = situation.recipe(kind, "BUILD")
    if recipe is None or room_for_materials(situation) < 6:
        return []
    gatherable = situation.options.get("GATHER", [])
    for amount in sorted(recipe.inputs, key=lambda a: a.resource):
        resource = RESOURCE_NAMES.get(amount.resource, "?")
        needed = math.ceil(amount.quantity * wear)
        if situation.inventory.get(resource, 0) < needed and resource in gatherable:
            action = situation.act("GATHER", resource=resource)
            return [Candidate(care + 0.3 * own * wear, action, f"materials to mend the {name}")]
    return []
