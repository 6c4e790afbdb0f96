"""What an agent has learnt about value: prices from trades it saw, yields and practice of its own
work, and danger from what happened to others. Pure functions over its memory."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from runner.core.vocabulary import RESOURCE_NAMES

if TYPE_CHECKING:
    from runner.core.memory import AgentMemory

# A newborn's beliefs about the worth of one unit, before it has seen a trade; every observed
# exchange moves them (learn_exchange).
PRIOR_WORTH: dict[str, float] = {
    "WATER": 1.0, "BERRY": 1.0, "ROOT": 1.0, "FISH": 1.5, "MEAT": 2.0, "FARMED": 2.0,
    "COOKED": 2.5, "WOOD": 1.0, "STONE": 1.5, "FIBER": 1.0, "CLAY": 1.5, "HIDE": 2.0,
    "ORE": 2.5, "METAL": 6.0, "MEDICINE": 4.0, "TOOL": 8.0, "ADVANCED_TOOL": 20.0,
    "CURRENCY_TOKEN": 1.5, "WRITTEN_RECORD": 4.0, "TEXTILE": 4.0, "POTTERY": 5.0,
}  # fmt: skip
# How far one observation moves a belief: own deals count fully, offers seen count less.
DEAL_WEIGHT = 0.3
OFFER_WEIGHT = 0.1
YIELD_WEIGHT = 0.25
# How much more an agent values work it has practised: comparative advantage made habit.
PRACTICE_PULL = 1.5
# Goods with a free source where they are traded are worth this share of their price there.
FREE_HERE_WORTH = 0.1


def price(memory: AgentMemory, resource: str) -> float:
    """What one unit is worth to this agent, from the trades it has seen."""
    return memory.prices.get(resource, PRIOR_WORTH.get(resource, 1.0))


def worth(memory: AgentMemory, items: Iterable[tuple[str, int]], free_here: set[str]) -> float:
    """The value of a bundle here: goods anyone can gather here for free are worth little."""
    return sum(
        price(memory, resource) * quantity * (FREE_HERE_WORTH if resource in free_here else 1.0)
        for resource, quantity in items
    )


def learn_exchange(
    memory: AgentMemory,
    given: list[tuple[str, int]],
    received: list[tuple[str, int]],
    weight: float = DEAL_WEIGHT,
) -> None:
    """Someone gave `given` for `received`: each side's price moves toward what the deal says."""
    given_value = sum(price(memory, r) * q for r, q in given)
    received_value = sum(price(memory, r) * q for r, q in received)
    if given_value <= 0 or received_value <= 0:
        return
    # The deal says the bundles are worth the same: scale each toward the geometric middle.
    middle = (given_value * received_value) ** 0.5
    for items, value in ((given, given_value), (received, received_value)):
        ratio = middle / value
        for resource, _ in items:
            old = price(memory, resource)
            memory.prices[resource] = round(old * (1 + weight * (ratio - 1)), 4)


def learn_yield(memory: AgentMemory, activity: str, value: float) -> None:
    """One more tick spent at `activity` produced goods worth `value`."""
    mean, count = memory.yields.get(activity, (value, 0))
    mean = mean + YIELD_WEIGHT * (value - mean) if count else value
    memory.yields[activity] = (round(mean, 4), count + 1)
    memory.practice[activity] = memory.practice.get(activity, 0) + 1


def expected_yield(memory: AgentMemory, activity: str, guess: float) -> float:
    """What a tick of `activity` is expected to produce, from the agent's own record."""
    mean, count = memory.yields.get(activity, (guess, 0))
    return mean if count else guess


def practice_share(memory: AgentMemory, activity: str) -> float:
    """The share of the agent's productive ticks spent on this activity (0–1)."""
    total = sum(memory.practice.values())
    return memory.practice.get(activity, 0) / total if total else 0.0


_GAIN_VERBS = frozenset({"gathered", "made", "mined", "harvested", "picked", "took"})


_GOOD_WORDS = {name.lower(): name for name in RESOURCE_NAMES.values()}


def good_got(last_activity: str) -> str:
    """The good someone was seen getting ("gathered 4 fish", "made 1 cooked from 1 fish",
    "picked up 3 wood": the word after the first number), or "" when the activity got none."""
    words = last_activity.lower().split()
    if not words or words[0] not in _GAIN_VERBS:
        return ""
    for index, word in enumerate(words[:-1]):
        if word.isdigit():
            return _GOOD_WORDS.get(words[index + 1].strip(".,;:"), "")
    return ""


def note_danger(memory: AgentMemory, location_id: str, amount: float) -> None:
    if location_id:
        memory.danger[location_id] = round(
            min(5.0, memory.danger.get(location_id, 0.0) + amount), 3
        )


def danger(memory: AgentMemory, location_id: str) -> float:
    return memory.danger.get(location_id, 0.0)


def learn_trade_luck(memory: AgentMemory, wanted: Iterable[tuple[str, int]], taken: bool) -> None:
    """An offer asking for these goods was taken, or lapsed untaken."""
    for resource, _ in wanted:
        old = trade_luck(memory, resource)
        memory.trade_luck[resource] = round(old + 0.3 * (float(taken) - old), 4)


def trade_luck(memory: AgentMemory, resource: str) -> float:
    """How likely asking for this good in trade is to be answered, from experience."""
    return memory.trade_luck.get(resource, 0.5)
