"""Materials and stores: how much of the pack building materials may take, what a store keeps."""

from __future__ import annotations

from runner.core.plans_survival import food_target
from runner.core.situation import Situation


def room_for_materials(situation: Situation) -> int:
    """Pack room for building materials once the food the agent means to hold is held: stone and
    timber carried in place of food would leave it unprovided for (for a lean season, a child)."""
    unstocked = max(0, food_target(situation) - situation.food_held)
    return situation.carry_room - unstocked
