"""Learning: seed knowledge, experimentation, observation, teaching, reading and accidents."""

from __future__ import annotations

from engine.core.context import Phase
from engine.core.knowledge import (
    EXPERIENCE_ITEMS,
    LEADS_TO,
    PREREQUISITES,
    discoverable,
    prerequisites_met,
)
from engine.core.state import Agent


def learn(phase: Phase, agent: Agent, item: str, method: str, teacher_id: str = "") -> bool:
    """Add `item` to what the agent knows; a KnowledgeDiscovered event (first in run flagged)."""
    if item in agent.knowledge:
        return False
    agent.knowledge.add(item)
    first = item not in phase.state.first_discoveries
    phase.state.first_discoveries.add(item)
    phase.emit(
        "KNOWLEDGE_DISCOVERED",
        agent.id,
        agent.location_id,
        "knowledge",
        {
            "knowledge": item,
            "method": f"DISCOVERY_METHOD_{method}",
            "prerequisites": list(PREREQUISITES.get(item, ())),
            "teacher_id": teacher_id,
            "first_in_run": first,
            "success": True,
        },
    )
    agent.notifications.append(f"you learned {item.replace('_', ' ')}")
    return True


def accidental_discoveries(phase: Phase) -> None:
    """0.05 % per tick × curiosity × 2: a rare flash of insight, not the way a tree is climbed."""
    chance = phase.config.knowledge.accidental_chance
    for agent in phase.state.living_agents():
        if agent.in_transit:
            continue
        rng = phase.rng(f"accident:{agent.id}")
        if rng.random() >= chance * 2 * agent.personality.get("curiosity", 0.5):
            continue
        options = discoverable(agent.knowledge)
        if options:
            learn(phase, agent, rng.choice(options), "ACCIDENT")


def experiment(phase: Phase, agent: Agent, item: str, base_chance: float | None = None) -> None:
    """Adjacent actions may reveal `item` (15 % × 2 × curiosity) once its prerequisites are known."""
    if item in agent.knowledge or item in EXPERIENCE_ITEMS:
        return
    if not prerequisites_met(item, agent.knowledge):
        return
    if base_chance is None:
        base_chance = phase.config.knowledge.experimentation_chance
    chance = base_chance * 2 * agent.personality["curiosity"]
    if phase.rng(f"experiment:{agent.id}:{item}").random() < chance:
        learn(phase, agent, item, "EXPERIMENTATION")


def experiment_with(phase: Phase, agent: Agent, used: str) -> None:
    """Putting knowledge to use may reveal what builds on it: each item that has `used` among its
    prerequisites, all of them known, with 1 % × 2 × curiosity per use."""
    if not used:
        return
    chance = phase.config.knowledge.practice_experimentation_chance
    for item in LEADS_TO.get(used, ()):
        experiment(phase, agent, item, chance)


def experience(phase: Phase, agent: Agent, item: str) -> None:
    """A fact of experience (clay handled) is known from then on; having it again is practice of
    it, and may reveal what builds on it as any use of knowledge may (pottery, writing)."""
    agent.knowledge.add(item)
    experiment_with(phase, agent, item)


def observe(phase: Phase, watcher: Agent, item: str) -> None:
    """Watching someone here do what you do not know: curiosity × 0.3, prerequisites permitting."""
    if item in watcher.knowledge or not prerequisites_met(item, watcher.knowledge):
        return
    chance = watcher.personality["curiosity"] * phase.config.knowledge.observation_factor
    if phase.rng(f"observe:{watcher.id}:{item}").random() < chance:
        learn(phase, watcher, item, "OBSERVATION")
