"""Survival plans: drink, eat, rest, heal, stock up on water and food, go where they are."""

from __future__ import annotations

import heapq

from emergence.v1 import action_pb2
from runner.core.economy import PRACTICE_PULL, expected_yield, practice_share, price
from runner.core.seasons import kept_share, plenty_here, shortfall_ticks
from runner.core.situation import Candidate, Situation, first_step, move_option
from runner.core.vocabulary import FOODS, RAW_FOODS, RESOURCE_NAMES

# What the agent expects to eat per tick, in hunger; the pack room kept free of food for water,
# wood and tools (the rest of what the agent can carry may hold food).
HUNGER_PER_TICK_GUESS = 6.0
ROOM_KEPT_FROM_FOOD = 12
# Eating that food held should always cover, whatever the season promises.
BUFFER_TICKS = 20


def water_target(situation: Situation) -> int:
    """Water to carry: enough for a long trip for the curious, a few gulps for everyone."""
    return 6 if situation.traits.curiosity > 0.5 else 4


def food_target(situation: Situation, mouths: float = 1.0) -> int:
    """Food to hold for `mouths` eaters: a few days' eating, and what the rest of this season and
    the next are expected to fall short of by what this agent has seen of them (a lean season is
    stocked for before it comes), in units of berries, at most what the pack holds besides
    water and tools."""
    hunger = HUNGER_PER_TICK_GUESS * mouths * (BUFFER_TICKS + food_shortfall_ticks(situation))
    per_unit = max(situation.food_value("BERRY"), 15.0)
    most = max(6, int(situation.perception.self.carry_capacity) - ROOM_KEPT_FROM_FOOD)
    return int(min(most, max(6, hunger / per_unit)))


def food_shortfall_ticks(situation: Situation) -> float:
    memory = situation.memory
    days = int(situation.perception.clock.days_until_season_change)
    length = max(memory.season_ticks, days)
    return shortfall_ticks(memory.season_plenty, situation.season, length)


def survival(situation: Situation) -> list[Candidate]:
    found: list[Candidate] = []
    found.extend(_drink(situation))
    found.extend(_eat(situation))
    found.extend(_rest(situation))
    found.extend(_heal(situation))
    found.extend(_stock_up(situation))
    found.extend(_cook_to_keep(situation))
    found.extend(_seek(situation))
    found.extend(_spread_out(situation))
    return found


def _drink(situation: Situation) -> list[Candidate]:
    if not situation.can("DRINK"):
        return []
    thirst = situation.thirst
    # Drinking from a river is free; drinking carried water spends the stock, so wait longer.
    threshold = 20 if situation.water_here() else 40
    if thirst < threshold:
        return []
    return [Candidate(0.3 + thirst / 55, situation.act("DRINK"), f"thirst {thirst:.0f}")]


def best_food_to_eat(situation: Situation) -> str:
    held = [food for food in FOODS if situation.inventory.get(food, 0) > 0]
    if not held:
        return ""
    hunger = situation.hunger
    # Eat the food that removes the hunger without waste; the best when starving.
    value = situation.food_value
    fitting = [food for food in held if value(food) <= hunger + 5]
    if hunger >= 70 or not fitting:
        return max(held, key=value)
    return max(fitting, key=lambda food: (value(food), situation.inventory[food]))


def _eat(situation: Situation) -> list[Candidate]:
    hunger = situation.hunger
    food = best_food_to_eat(situation)
    if not food or hunger < 25 or not situation.can("EAT"):
        return []
    return [Candidate(0.25 + hunger / 55, situation.act("EAT", food=food), f"hunger {hunger:.0f}")]


def _rest(situation: Situation) -> list[Candidate]:
    energy = situation.energy
    score = 0.05 + ((100 - energy) / 100) ** 2 * 1.3
    if energy <= 20:
        score += 0.6
    if situation.night and energy < 90:
        # Night rest recovers half again as much: the sensible time to sleep.
        score += 0.55
    return [Candidate(score, situation.act("REST"), f"energy {energy:.0f}")]


def _heal(situation: Situation) -> list[Candidate]:
    if situation.health >= 55 or situation.inventory.get("MEDICINE", 0) == 0:
        return []
    if not situation.can("HEAL"):
        return []
    return [Candidate(0.9, situation.act("HEAL"), f"health {situation.health:.0f}")]


def _stock_up(situation: Situation) -> list[Candidate]:
    found: list[Candidate] = []
    gatherable = situation.options.get("GATHER", [])
    if not gatherable or situation.carry_room < 4:
        return found
    water = situation.water_held
    target = water_target(situation)
    if "WATER" in gatherable and water < target:
        found.append(
            Candidate(
                0.35 + 0.4 * (1 - water / target),
                situation.act("GATHER", resource="WATER"),
                f"carrying {water} water",
            )
        )
    foods_here = [food for food in RAW_FOODS if food in gatherable]
    if foods_here:
        held = situation.food_held
        target_food = food_target(situation)
        if held < target_food:
            food = food_to_gather(situation, foods_here)
            urgency = 0.45 if held == 0 and situation.hunger > 40 else 0.0
            found.append(
                Candidate(
                    0.3 + 0.45 * (1 - held / target_food) + urgency,
                    situation.act("GATHER", resource=food),
                    f"holding {held} food",
                )
            )
    return found


def _cook_to_keep(situation: Situation) -> list[Candidate]:
    """Cook raw food held when a fire is at hand: cooked food feeds more and keeps longer, by the
    food values the world states and the spoilage the agent has seen, over the ticks food held is
    expected to wait before it is eaten (longer before a lean season)."""
    cookable = [food for food in situation.options.get("COOK", []) if situation.inventory.get(food)]
    if not cookable:
        return []
    shortfall = food_shortfall_ticks(situation)
    held_ticks = (BUFFER_TICKS + shortfall) / 2
    memory, value = situation.memory, situation.food_value

    def gain(food: str) -> float:
        recipe = situation.recipe(food, "COOK")
        if recipe is None:
            return 0.0
        cooked = sum(
            value(RESOURCE_NAMES.get(a.resource, "")) * a.quantity
            * kept_share(memory.spoilage, RESOURCE_NAMES.get(a.resource, ""), held_ticks)
            for a in recipe.outputs
        )  # fmt: skip
        return cooked - value(food) * kept_share(memory.spoilage, food, held_ticks)

    food = max(cookable, key=lambda f: (gain(f), f))
    best = gain(food)
    if best <= 0:
        return []
    urgency = min(1.0, shortfall / 90)
    score = 0.3 + 0.35 * min(1.0, best / 40) + 0.2 * urgency
    return [Candidate(score, situation.act("COOK", food=food), f"cook {food.lower()} to keep")]


def food_to_gather(situation: Situation, foods_here: list[str]) -> str:
    """The food whose gathering has paid this agent best (its own yields, its practice), with
    how plentiful each is here as the guess for what it has not tried, less what it has seen of
    that food spoiling before it would be eaten."""
    memory = situation.memory

    # Food put by for a lean season is eaten late: what spoils before then was gathered in vain.
    held_ticks = (BUFFER_TICKS + food_shortfall_ticks(situation)) / 2

    def value(food: str) -> float:
        activity = f"gather {food.lower()}"
        guess = min(3, situation.here_resources.get(food, 0)) * price(memory, food)
        pull = 1 + PRACTICE_PULL * practice_share(memory, activity)
        kept = kept_share(memory.spoilage, food, held_ticks)
        return expected_yield(memory, activity, guess) * pull * kept

    return max(foods_here, key=lambda food: (value(food), food))


def _seek(situation: Situation) -> list[Candidate]:
    """Travel toward remembered water or food when none is at hand."""
    found: list[Candidate] = []
    memory = situation.memory
    if situation.thirst >= 30 and not situation.can("DRINK") and situation.water_held == 0:
        step = first_step(situation, set(memory.water_places()))
        action = move_option(situation, step[0]) if step else guess_water(situation)
        if action is not None:
            found.append(Candidate(0.2 + situation.thirst / 45, action, "going to water"))
    food_here = any(situation.here_resources.get(food, 0) >= 2 for food in RAW_FOODS)
    # Losing the race for food here means the place is crowded: try another one.
    crowded = situation.failed_recently("GATHER")
    if situation.food_held < 2 and (crowded or not food_here) and situation.hunger >= 30:
        target = _food_destination(situation)
        step = first_step(situation, {target}) if target else None
        action = move_option(situation, step[0]) if step else None
        # Nothing to eat and nothing to be had here: as pressing as gathering with none held.
        pressing = 0.45
        if action is not None:
            found.append(Candidate(0.2 + situation.hunger / 60 + pressing, action, "going to food"))
    return found


# Travel ticks that halve how much a remembered place's food per head is worth going for, and
# the road assumed to a place whose road is not remembered.
FOOD_TRIP_HALF_TICKS = 6
UNKNOWN_ROAD_TICKS = 30


def _food_destination(situation: Situation) -> str:
    """The remembered place with the most food per head for the way there (the crowd last seen
    there counted, so a hungry crowd does not all make for the nearest place), with water there or
    near enough for the water carried; "" when none holds food."""
    ticks_to = travel_ticks(situation)
    best, best_value = "", 0.0
    for place_id, place in sorted(situation.memory.places.items()):
        ticks = ticks_to.get(place_id)
        if place_id == situation.location_id or ticks is None or place.seen_tick < 0:
            continue
        if not _watered(place.resources, ticks, situation.water_held):
            continue
        food = plenty_here(place.resources, place.crowd + 1)
        if food < 1:
            continue
        value = food / (1 + ticks / FOOD_TRIP_HALF_TICKS)
        if value > best_value:
            best, best_value = place_id, value
    return best


WATER_WORDS = ("river", "spring", "estuary", "pool", "lake", "stream", "well", "cave")


def guess_water(situation: Situation) -> action_pb2.Action | None:
    """No water remembered: walk toward a neighbour whose name promises water, else somewhere new."""
    places = situation.memory.places
    options = situation.options.get("MOVE", [])

    def promise(option: str) -> tuple[int, int, str]:
        place = places.get(option)
        name = place.name.lower() if place else ""
        watery = any(word in name for word in WATER_WORDS)
        unseen = place is None or place.seen_tick < 0
        return (int(watery), int(unseen), option)

    if not options:
        return None
    return move_option(situation, max(options, key=promise))


# A place must promise this many times the food per head of here to be worth leaving for before a
# lean season (the memory of it may be old, and others may have the same idea).
SPREAD_GAIN = 2.0
# What a place known by name only is hoped to hold in food per head (two foods at rank 2, a few
# people there), and the water carried before setting off for it.
UNSEEN_PLENTY_HOPE = 3.0
WATER_FOR_UNSEEN = 5
# Water units kept beyond a dry place's distance in ticks (for the stay and the way back).
DRY_TRIP_WATER_SPARE = 2


def _watered(resources: dict[str, int], ticks: int | None, water_held: int) -> bool:
    """Water there, or a food place without water near enough that the water carried lasts the
    way there, a stay and the way back (a unit of water is about four ticks of thirst): a dry
    wood full of berries beside the river is a good place to gather for a lean season."""
    if resources.get("WATER", 0) > 0:
        return True
    return ticks is not None and 0 < ticks <= water_held - DRY_TRIP_WATER_SPARE


def travel_ticks(situation: Situation) -> dict[str, int]:
    """Travel ticks of the shortest remembered path from here to every place it reaches."""
    cached = situation.cache.get("travel_ticks")
    if isinstance(cached, dict):
        return cached
    places = situation.memory.places
    best: dict[str, int] = {situation.location_id: 0}
    frontier: list[tuple[int, str]] = [(0, situation.location_id)]
    while frontier:
        cost, place_id = heapq.heappop(frontier)
        place = places.get(place_id)
        if cost > best.get(place_id, cost) or place is None:
            continue
        for _, (destination, ticks) in sorted(place.routes.items()):
            if destination and cost + ticks < best.get(destination, 1 << 30):
                best[destination] = cost + ticks
                heapq.heappush(frontier, (cost + ticks, destination))
    situation.cache["travel_ticks"] = best
    return best


def _spread_out(situation: Situation) -> list[Candidate]:
    """Leave a crowded or bare place before a lean season it will not carry: when the food put by
    falls short of what the coming ticks will not provide, go where the remembered food per head
    is much larger (spreading the crowd is what makes a lean season survivable)."""
    shortfall = food_shortfall_ticks(situation)
    if situation.is_child or shortfall < BUFFER_TICKS or situation.water_held < 3:
        return []
    if situation.food_held >= food_target(situation):
        return []
    memory = situation.memory
    here = memory.places.get(situation.location_id)
    if here is None:
        return []
    here_plenty = plenty_here(here.resources, len(situation.perception.agents))
    wanted = SPREAD_GAIN * here_plenty + 1
    # A place known by name only is hoped to be an uncrowded place with a little food (more to
    # the curious), if there is water enough to come back from it.
    hope = UNSEEN_PLENTY_HOPE + 2 * situation.traits.curiosity
    may_go_unseen = situation.water_held >= WATER_FOR_UNSEEN and hope >= wanted
    ticks_to = travel_ticks(situation)
    better = {
        place_id
        for place_id, place in memory.places.items()
        if place_id != situation.location_id
        and (
            (place.seen_tick < 0 and may_go_unseen)
            or (
                place.seen_tick >= 0
                and _watered(place.resources, ticks_to.get(place_id), situation.water_held)
                and plenty_here(place.resources, place.crowd + 1) >= wanted
            )
        )
    }
    if not better:
        return []

    # The best food per head for the way there, not the nearest: a crowd leaving one bare place
    # does not all make for the same next one.
    def worth(place_id: str) -> float:
        place = memory.places[place_id]
        plenty = hope if place.seen_tick < 0 else plenty_here(place.resources, place.crowd + 1)
        return plenty / (1 + ticks_to.get(place_id, UNKNOWN_ROAD_TICKS) / FOOD_TRIP_HALF_TICKS)

    step = first_step(situation, {max(sorted(better), key=worth)})
    action = move_option(situation, step[0]) if step else None
    if action is None:
        return []
    urgency = min(1.0, shortfall / 90)
    score = 0.35 + 0.35 * urgency + 0.2 * situation.traits.curiosity
    # Losing the race for food here, or none left: staying is no way to put food by.
    bare = situation.failed_recently("GATHER") or not any(
        situation.here_resources.get(food, 0) >= 2 for food in RAW_FOODS
    )
    if bare:
        score += 0.45
    return [
        Candidate(
            score, action, f"leave a place that will not feed us ({shortfall:.0f} ticks short)"
        )
    ]
