"""Checkable claims in messages: "I have no wood", "there is fish at Riverbank" – recorded when false."""

from __future__ import annotations

import re

from engine.core.context import Phase
from engine.core.state import Agent
from engine.core.world import RESOURCE_NAMES

_WORDS = {name.lower(): name for name in RESOURCE_NAMES}
_WORDS.update({"berries": "BERRY", "roots": "ROOT", "food": "FOOD"})
HOLDING = re.compile(r"\bi (?:have|hold|carry) no (\w+)")
PLACE = re.compile(r"\bthere (?:is|are) (?:no )?(\w+) at ([\w ]+)")
FOODS = ("BERRY", "ROOT", "FISH", "MEAT", "FARMED", "COOKED")


def record_claims(phase: Phase, speaker: Agent, target_id: str, text: str) -> None:
    """Compare the claims a message makes with the world; a false one is a DeceptionCommitted."""
    lowered = text.lower()
    for match in HOLDING.finditer(lowered):
        resource = _WORDS.get(match.group(1))
        if resource is None:
            continue
        held = (
            sum(speaker.holds(f) for f in FOODS) if resource == "FOOD" else speaker.holds(resource)
        )
        if held > 0:
            _deceived(phase, speaker, target_id, match.group(0), f"holds {held} {match.group(1)}")
    for match in PLACE.finditer(lowered):
        resource = _WORDS.get(match.group(1))
        place = _location_named(phase, match.group(2).strip())
        if resource is None or place is None:
            continue
        location = phase.state.locations[place]
        kinds = FOODS if resource == "FOOD" else (resource,)
        available = sum(location.nodes[k].available for k in kinds if k in location.nodes)
        claims_some = " no " not in f" {match.group(0)} "
        if claims_some != (available > 0):
            _deceived(phase, speaker, target_id, match.group(0), f"{location.name} has {available}")


def _location_named(phase: Phase, words: str) -> str | None:
    for location_id, location in sorted(phase.state.locations.items()):
        if words.startswith(location.name.lower()):
            return location_id
    return None


def _deceived(phase: Phase, speaker: Agent, target_id: str, claim: str, truth: str) -> None:
    phase.emit(
        "DECEPTION_COMMITTED",
        speaker.id,
        speaker.location_id,
        "deception",
        {"target_agent_id": target_id, "claim": claim, "truth": truth},
    )
