"""Memory tiers, reflection, goals and the token budget of the prompt's memory section."""

from __future__ import annotations

import json

from emergence.v1 import action_pb2
from runner.core.memory import (
    IMMEDIATE_TICKS,
    MAX_GOALS,
    SHORT_TERM_TICKS,
    AgentMemory,
    MemoryItem,
    compress,
    filtered,
    from_dict,
    observe,
    reflect,
    to_dict,
)
from tests.unit.test_runner_fixtures import first_perception


def test_items_age_from_immediate_to_short_term_or_long_term_by_weight() -> None:
    memory = AgentMemory("a")
    memory.remember(MemoryItem(1, "action", "gathered berries", weight=0.4))
    memory.remember(MemoryItem(1, "social", "Kora betrayed me", weight=0.9))
    memory.remember(MemoryItem(1, "observation", "a bird sang", weight=0.1))
    compress(memory, 1 + IMMEDIATE_TICKS - 1)
    assert len(memory.immediate) == 3
    compress(memory, 1 + IMMEDIATE_TICKS)
    assert memory.immediate == []
    assert [item.summary for item in memory.short_term] == ["gathered berries"]
    assert [item.summary for item in memory.long_term] == ["Kora betrayed me"]
    compress(memory, 1 + SHORT_TERM_TICKS)
    assert memory.short_term == [] and len(memory.long_term) == 1


def test_observing_remembers_places_first_meetings_and_notifications() -> None:
    found = first_perception()
    found.notifications.append("someone stole 2 water from you")
    found.notifications.append("you learned cooking")
    memory = AgentMemory(found.agent_id)
    observe(memory, found)
    assert found.self.location_id in memory.places
    assert memory.met == {other.agent_id for other in found.agents}
    texts = [item.summary for item in memory.long_term]
    assert "you learned cooking" in texts and "someone stole 2 water from you" in texts


def test_reflection_records_results_and_learns_who_knows_what() -> None:
    memory = AgentMemory("a")
    result = action_pb2.ActionResult(
        agent_id="a", tick=7, action_type=action_pb2.ACTION_TYPE_TEACH, success=False
    )
    result.rejection.message = "Bo already knows cooking"
    result.action.teach.student_id = "b"
    result.action.teach.knowledge = "cooking"
    reflect(memory, result)
    assert memory.known_by == {"b": {"cooking"}}
    assert memory.immediate[-1].summary.startswith("could not teach")


def test_goals_are_capped_at_five_most_important() -> None:
    memory = AgentMemory("a")
    for priority in range(7):
        memory.set_goal(f"goal {priority}", priority, tick=priority)
    assert len(memory.goals) == MAX_GOALS
    assert memory.goals[0].text == "goal 6"
    assert not memory.set_goal("goal 0", 0, tick=9)


def test_filtered_memory_stays_within_the_token_budget() -> None:
    found = first_perception()
    memory = AgentMemory(found.agent_id)
    for tick in range(300):
        memory.long_term.append(
            MemoryItem(tick, "social", f"remembered moment {tick} " * 5, weight=0.8)
        )
    chosen = filtered(memory, found, budget_tokens=500)
    assert 0 < sum(item.tokens for item in chosen) <= 500
    assert len(chosen) < 300


def test_memory_round_trips_through_json() -> None:
    found = first_perception()
    memory = AgentMemory(found.agent_id)
    observe(memory, found)
    memory.set_goal("find water", 5, 1)
    memory.known_by["b"] = {"cooking"}
    again = from_dict(json.loads(json.dumps(to_dict(memory))))
    assert again == memory


def test_seeing_someone_taught_means_the_student_knows_it() -> None:
    view = first_perception()
    teacher = view.agents[0]
    student = view.agents.add(agent_id="student-1", name="Pia")
    teacher.last_activity = f"taught {student.name} masonry"
    student.last_activity = f"tried to teach {teacher.name} pottery, but it did not stick"
    memory = AgentMemory(view.agent_id)
    observe(memory, view)
    assert memory.known_by == {student.agent_id: {"masonry"}}


def test_a_teaching_that_did_not_stick_leaves_the_student_untaught() -> None:
    memory = AgentMemory("a")
    result = action_pb2.ActionResult(
        agent_id="a",
        tick=3,
        action_type=action_pb2.ACTION_TYPE_TEACH,
        success=True,
        outcome="tried to teach Pia masonry, but it did not stick",
        action=action_pb2.Action(
            agent_id="a", teach=action_pb2.TeachParams(student_id="p", knowledge="masonry")
        ),
    )
    reflect(memory, result)
    assert "p" not in memory.known_by
    result.outcome = "taught Pia masonry"
    reflect(memory, result)
    assert memory.known_by["p"] == {"masonry"}
