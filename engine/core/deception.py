"""Checkable claims in messages: "I have no wood", "there is fish at Riverbank" – recorded when false,
and found out when the one told acts on it and sees otherwise (agents spec: deception)."""

from __future__ import annotations

import re

from engine.core.context import Phase, change_trust, notify
from engine.core.state import Agent, Deception, WorldState
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
            truth = f"holds {held} {match.group(1)}"
            _deceived(phase, speaker, target_id, match.group(0), truth, resource)
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
            truth = f"{location.name} has {available}"
            _deceived(
                phase, speaker, target_id, match.group(0), truth, resource, place, claims_some
            )


def _location_named(phase: Phase, words: str) -> str | None:
    for location_id, location in sorted(phase.state.locations.items()):
        if words.startswith(location.name.lower()):
            return location_id
    return None


def _deceived(
    phase: Phase, speaker: Agent, target_id: str, claim: str, truth: str, resource: str,
    location_id: str = "", claims_some: bool = False,
) -> None:  # fmt: skip
    phase.state.deceptions.append(
        Deception(
            speaker.id,
            target_id,
            phase.state.tick,
            claim,
            truth,
            resource,
            location_id,
            claims_some,
        )
    )
    phase.emit(
        "DECEPTION_COMMITTED",
        speaker.id,
        speaker.location_id,
        "deception",
        {"target_agent_id": target_id, "claim": claim, "truth": truth},
    )


def discover_deceptions(phase: Phase) -> None:
    """After the tick's actions: the deceived find out when they act on a lie and see otherwise.

    "I have no X": the liar hands X to them this tick (gift, trade, fine) or they take it (theft).
    "There is (no) X at P": they stand at P and find the opposite. Lies not found out within the
    configured memory are forgotten.
    """
    state = phase.state
    if not state.deceptions:
        return
    handed: set[tuple[str, str, str]] = set()
    for entry in phase.book.entries:
        if (
            entry.entry_type == "TRANSFER"
            and entry.from_type == "AGENT"
            and entry.to_type == "AGENT"
        ):
            handed.add((entry.from_id, entry.to_id, entry.resource))
            if entry.resource in FOODS:
                handed.add((entry.from_id, entry.to_id, "FOOD"))
    forget_before = state.tick - state.config.actions.deception_memory_ticks
    kept = []
    for record in state.deceptions:
        target = state.agents.get(record.target_id)
        if record.tick < forget_before or target is None or not target.alive:
            continue
        found = _found_out(state, record, target, handed)
        if found is None:
            kept.append(record)
            continue
        speaker = state.agents[record.speaker_id]
        change_trust(phase, target, speaker.id, state.config.trust.deception_discovered, "deceived")
        notify(target, f'you found out that {speaker.name} lied to you: "{record.claim}" ({found})')
        phase.emit(
            "DECEPTION_DISCOVERED",
            speaker.id,
            target.location_id,
            "deception",
            {"target_agent_id": target.id, "claim": record.claim, "truth": found},
        )
    state.deceptions = kept


def _found_out(
    state: WorldState, record: Deception, target: Agent, handed: set[tuple[str, str, str]]
) -> str | None:
    """What the deceived saw that gives the lie away, or None while nothing has."""
    if not record.location_id:
        pair = {
            (record.speaker_id, target.id, record.resource),
            (target.id, record.speaker_id, record.resource),
        }
        return f"they had {record.resource.lower()} after all" if pair & handed else None
    if target.in_transit or target.location_id != record.location_id:
        return None
    location = state.locations[record.location_id]
    kinds = FOODS if record.resource == "FOOD" else (record.resource,)
    available = sum(location.nodes[k].available for k in kinds if k in location.nodes)
    if record.claims_some and available == 0:
        return f"found no {record.resource.lower()} at {location.name}"
    if not record.claims_some and available > 0:
        return f"found {record.resource.lower()} at {location.name}"
    return None
