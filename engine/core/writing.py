"""Writing and reading: knowledge written down at a place, and learnt there by whoever reads it.

A library keeps what is written in it for good. Anywhere else a writing is a tablet left at the
place: readable by whoever comes by until it weathers away (`KnowledgeConfig.writing_lasts_ticks`).
Reading teaches with a chance that rises with literacy (knowing written language) and with the
quiet and the copies of a library, so a text is worth most to those who learnt to read.
"""

from __future__ import annotations

from engine.core.actions import Action, Rejection, reject
from engine.core.context import Phase, structures_here
from engine.core.discovery import learn
from engine.core.knowledge import EXPERIENCE_ITEMS
from engine.core.rules import Done, need_knowledge
from engine.core.state import Agent, Location, WorldState

LITERACY = "written_language"


def writings_here(state: WorldState, location: Location, lasts_ticks: int) -> set[str]:
    """The items written at this place that can still be read: a library's records and the
    tablets left here less than `lasts_ticks` ago."""
    found = {
        item
        for structure in structures_here(state, location.id, "LIBRARY")
        for item in structure.records
    }
    found.update(
        item for item, written in location.writings.items() if state.tick - written < lasts_ticks
    )
    return found


def _readable(phase: Phase, agent: Agent) -> set[str]:
    location = phase.state.locations[agent.location_id]
    return writings_here(phase.state, location, phase.config.knowledge.writing_lasts_ticks)


def check_write(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    if action.knowledge not in agent.knowledge or action.knowledge in EXPERIENCE_ITEMS:
        return reject(
            "UNKNOWN_ACTION", f"you cannot write down {action.knowledge!r}: you do not know it"
        )
    problem = need_knowledge(agent, LITERACY, "writing")
    if problem:
        return problem
    if action.knowledge in _readable(phase, agent):
        return reject("UNAVAILABLE_TARGET", f"{action.knowledge} is already written here")
    return None


def do_write(phase: Phase, agent: Agent, action: Action) -> Done:
    state = phase.state
    libraries = structures_here(state, agent.location_id, "LIBRARY")
    if libraries:
        libraries[0].records.add(action.knowledge)
        return Done(f"wrote down {action.knowledge} in the library", shows=LITERACY)
    location = state.locations[agent.location_id]
    lasts = phase.config.knowledge.writing_lasts_ticks
    # Weathered tablets are gone: keep only those still readable, then add this one.
    location.writings = {
        item: written for item, written in location.writings.items() if state.tick - written < lasts
    }
    location.writings[action.knowledge] = state.tick
    return Done(
        f"wrote down {action.knowledge} on a tablet left at {location.name}", shows=LITERACY
    )


def check_read(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    if action.knowledge not in _readable(phase, agent):
        return reject("UNAVAILABLE_TARGET", f"nothing written here tells of {action.knowledge!r}")
    if action.knowledge in agent.knowledge:
        return reject("UNAVAILABLE_TARGET", f"you already know {action.knowledge}")
    return None


def read_chance(phase: Phase, agent: Agent) -> float:
    config = phase.config.knowledge
    chance = config.reading_chance
    if LITERACY in agent.knowledge:
        chance += config.reading_literacy_bonus
    if structures_here(phase.state, agent.location_id, "LIBRARY"):
        chance += config.reading_library_bonus
    return min(1.0, chance)


def do_read(phase: Phase, agent: Agent, action: Action) -> Done:
    roll = phase.rng(f"read:{agent.id}:{action.knowledge}").random()
    # Reading is practice of written language for one who knows it.
    shows = LITERACY if LITERACY in agent.knowledge else ""
    if roll < read_chance(phase, agent) and learn(phase, agent, action.knowledge, "READING"):
        return Done(f"read about {action.knowledge} and learned it", shows=shows)
    return Done(f"read about {action.knowledge} but could not make sense of it yet", shows=shows)
