"""Materials and stores: how much of the pack building materials may take, what a store keeps."""

from __future__ import annotations

import math

from emergence.v1 import common_pb2
from runner.core.plans_survival import HUNGER_PER_TICK_GUESS, food_target
from runner.core.situation import Situation


def food_kept(situation: Situation) -> int:
    """The food an agent keeps in its pack rather than in a store: enough for itself and, as a
    parent does (plans_social.provided_for), half a share for each child here and one to come."""
    children = sum(
        1
        for other in situation.perception.agents
        if other.is_kin and other.life_stage == common_pb2.LIFE_STAGE_CHILD
    )
    return food_target(situation, mouths=1 + (children + 1) / 2)


def room_for_materials(situation: Situation) -> int:
    """Pack room for building materials once the food the agent means to hold is held: stone and
    timber carried in place of food would leave it unprovided for (for a lean season, a child)."""
    unstocked = max(0, food_target(situation) - situation.food_held)
    return situation.carry_room - unstocked


# What a trip asks, as a walker reckons it: thirst and hunger a tick, what a drink and a berry take
# away, and the ticks spent gathering at the far end.
THIRST_PER_TICK_GUESS = 8.0
DRINK_GUESS = 30.0
BERRY_GUESS = 20.0
GATHER_TICKS_AWAY = 5


def supplied_for(situation: Situation, travel_ticks: int) -> bool:
    """Enough water and food carried to walk `travel_ticks` there, gather, and walk back (a short
    errand needs a few gulps, a long journey a full skin)."""
    trip = 2 * travel_ticks + GATHER_TICKS_AWAY
    water = math.ceil(trip * THIRST_PER_TICK_GUESS / DRINK_GUESS) + 1
    food = math.ceil(trip * HUNGER_PER_TICK_GUESS / BERRY_GUESS) + 1
    return situation.water_held >= water and situation.food_held >= food
