"""What an agent has seen of the seasons: how much food per head the places it lived at held in
each season, and how long a season lasts; from these, how much of its eating a coming season will
not provide (the expected shortfall that food put by has to cover)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from emergence.v1 import perception_pb2
from runner.core.vocabulary import RAW_FOODS

SEASON_ORDER = ("SPRING", "SUMMER", "AUTUMN", "WINTER")
_SEASON_OF = {1: "SPRING", 2: "SUMMER", 3: "AUTUMN", 4: "WINTER"}
# About two seasons of ticks: a later year revises what the first one taught.
PLENTY_SAMPLES_CAP = 180
# A season announced as lean ("winter in 30 days: food will be scarce") and never lived through
# is expected to hold this share of today's food per head, until it is lived through.
ANNOUNCED_SCARCE_SHARE = 0.3
_ANNOUNCED = re.compile(r"^(\w+) in \d+ days: food will be scarce")
FOOD_RESOURCES = (*RAW_FOODS, "FARMED")
FOODS_KEPT = (*FOOD_RESOURCES, "COOKED")


def season_name(perception: perception_pb2.Perception) -> str:
    return _SEASON_OF.get(int(perception.clock.season), "SPRING")


def next_season(season: str) -> str:
    return SEASON_ORDER[(SEASON_ORDER.index(season) + 1) % len(SEASON_ORDER)]


def plenty_here(resources: dict[str, int], crowd: int) -> float:
    """Food ranks (0–5 each) of a place shared among those there: 1 + crowd / 4 heads."""
    return sum(resources.get(food, 0) for food in FOOD_RESOURCES) / (1 + crowd / 4)


def note_season(
    plenty: dict[str, tuple[float, int]],
    season: str,
    days_left: int,
    here_plenty: float,
    notifications: Iterable[str],
) -> int:
    """Fold this tick's food per head into the season's mean (in place); a lean season announced
    and never lived through gets a first guess. Returns the season length this tick shows."""
    mean, samples = plenty.get(season, (0.0, 0))
    samples = min(samples + 1, PLENTY_SAMPLES_CAP)
    plenty[season] = (mean + (here_plenty - mean) / samples, samples)
    for note in notifications:
        match = _ANNOUNCED.match(note)
        announced = match.group(1).upper() if match else ""
        if announced in SEASON_ORDER and announced not in plenty:
            plenty[announced] = (ANNOUNCED_SCARCE_SHARE * plenty[season][0], 1)
    return days_left + 1


def expected_share(plenty: dict[str, tuple[float, int]], season: str, against: str) -> float:
    """Food per head `season` is expected to hold as a share of `against`'s (1 when either is
    unknown: no reason to expect less). Seasons are compared with their neighbour, not with the
    best ever seen, so a place emptied by its own crowd does not read as a lean season coming."""
    if season not in plenty or against not in plenty or plenty[against][0] <= 0:
        return 1.0
    return max(0.0, min(1.0, plenty[season][0] / plenty[against][0]))


def shortfall_ticks(plenty: dict[str, tuple[float, int]], season: str, season_ticks: int) -> float:
    """Ticks of eating that gathering is expected not to cover: the whole next season, at how
    much leaner than this one it is expected to be (food for it is gathered before it comes;
    within a season, what can be gathered is seen directly)."""
    coming = next_season(season)
    return season_ticks * (1 - expected_share(plenty, coming, season))


_SPOILED = re.compile(r"^food spoiled: (.+)$")
# Unit-ticks of holding a food before its spoilage rate is trusted (before that: nothing known).
SPOILAGE_EXPOSURE_TRUSTED = 30.0


def note_keeping(
    spoilage: dict[str, tuple[float, float]], held: dict[str, int], notifications: Iterable[str]
) -> None:
    """Learn how fast each food spoils in the pack: units lost ("food spoiled: 2 fish") over
    unit-ticks held (in place)."""
    for food, quantity in held.items():
        if quantity > 0 and food in FOODS_KEPT:
            lost, exposure = spoilage.get(food, (0.0, 0.0))
            spoilage[food] = (lost, exposure + quantity)
    for note in notifications:
        match = _SPOILED.match(note)
        if not match:
            continue
        for part in match.group(1).split(", "):
            number, _, name = part.partition(" ")
            food = name.strip().upper()
            if number.isdigit() and food in FOODS_KEPT:
                lost, exposure = spoilage.get(food, (0.0, 0.0))
                spoilage[food] = (lost + int(number), exposure)


def kept_share(spoilage: dict[str, tuple[float, float]], food: str, ticks: float) -> float:
    """The share of a food still good after `ticks` in the pack, by the rate seen so far (all of
    it while too little has been held to tell)."""
    lost, exposure = spoilage.get(food, (0.0, 0.0))
    if exposure < SPOILAGE_EXPOSURE_TRUSTED:
        return 1.0
    rate = min(1.0, lost / exposure)
    return float((1 - rate) ** max(0.0, ticks))
