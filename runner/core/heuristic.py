"""The heuristic brain: a utility planner over needs, personality, goals and memory (no network)."""

from __future__ import annotations

import random

from emergence.v1 import perception_pb2, run_pb2
from runner.core.actions import DecisionOutcome, action_type_of, describe
from runner.core.memory import AgentMemory
from runner.core.plans_civic import civic
from runner.core.plans_explore import wander
from runner.core.plans_place import mend, settle, store
from runner.core.plans_social import social
from runner.core.plans_survival import survival
from runner.core.plans_work import dark, spirit, wanted_structure, work
from runner.core.situation import Candidate, Situation

# Small seeded noise breaks ties and keeps two similar agents from acting in lockstep.
NOISE = 0.08


def brain_rng(seed: int, tick: int, agent_id: str) -> random.Random:
    """The only source of randomness for one agent's decision at one tick."""
    return random.Random(f"{seed}:{tick}:{agent_id}:heuristic")


class HeuristicBrain:
    """Scores every sensible candidate action and picks the best; reproducible per seed."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def decide(self, perception: perception_pb2.Perception, memory: AgentMemory) -> DecisionOutcome:
        rng = brain_rng(self.seed, int(perception.tick), perception.agent_id)
        situation = Situation.read(perception, memory, rng)
        candidates = self.candidates(situation)
        scored = sorted(
            (
                (candidate.score + NOISE * rng.random(), index)
                for index, candidate in enumerate(candidates)
            ),
            reverse=True,
        )
        best = candidates[scored[0][1]]
        goal_update = update_goals(situation, best)
        reasoning = f"{best.reason} -> {describe(best.action)}"
        return DecisionOutcome(best.action, reasoning, goal_update, run_pb2.BRAIN_KIND_HEURISTIC)

    def candidates(self, situation: Situation) -> list[Candidate]:
        found: list[Candidate] = []
        plans = (survival, social, work, settle, store, mend, civic, wander, spirit, dark)
        for plan in plans:
            found.extend(plan(situation))
        # Only what the perception lists can succeed; keep those (rest is always listed).
        listed = [c for c in found if action_type_of(c.action) in situation.available]
        if not listed:
            listed = [Candidate(0.0, situation.act("REST"), "nothing better to do")]
        return listed


def update_goals(situation: Situation, chosen: Candidate) -> str:
    """Keep up to five goals in memory; returns the text of a goal newly set, or ""."""
    memory, tick = situation.memory, situation.tick
    changes: list[str] = []
    if situation.thirst >= 60 and not situation.can("DRINK"):
        if memory.set_goal("find water", 5, tick):
            changes.append("find water")
    else:
        memory.drop_goal("find water")
    if situation.season == "AUTUMN" and memory.set_goal("stock food for winter", 3, tick):
        changes.append("stock food for winter")
    if situation.season == "WINTER":
        memory.drop_goal("stock food for winter")
    kind = wanted_structure(situation)
    if kind and situation.traits.industriousness >= 0.5:
        text = f"build {kind.lower().replace('_', ' ')}"
        for goal in [
            g.text for g in memory.goals if g.text.startswith("build ") and g.text != text
        ]:
            memory.drop_goal(goal)
        if memory.set_goal(text, 2, tick):
            changes.append(text)
    if action_type_of(chosen.action) == "COMMUNICATE":
        name = memory.names.get(chosen.action.communicate.target_agent_id, "")
        if name and memory.set_goal(f"befriend {name}", 1, tick):
            changes.append(f"befriend {name}")
    return "; ".join(changes)
