"""Teaching chosen by what the pupil likely lacks and by trust: what the teacher learnt in its life
comes before what everyone is born with, and the most trusted student before the others."""

from __future__ import annotations

import random

from runner.core.actions import action_type_of
from runner.core.memory import AgentMemory, observe
from runner.core.plans_social import _teach
from runner.core.situation import Situation
from tests.sim.world_builder import agent_list, make_world, place
from tests.unit.test_runner_fixtures import perceptions


def test_a_teacher_offers_what_it_learnt_to_the_student_it_trusts_most() -> None:
    state = make_world(agents=3, seed=4)
    teacher, first, second = agent_list(state)
    for agent in (teacher, first, second):
        place(state, agent, "riverbank")
        agent.energy = 100
    teacher.personality["cooperation"] = 0.9
    teacher.knowledge.add("masonry")
    teacher.relationships[second.id] = 0.6
    teacher.relationships[first.id] = 0.1
    view = perceptions(state)[teacher.id]
    view.notifications.append("you learned masonry")
    memory = AgentMemory(teacher.id)
    observe(memory, view)
    assert "masonry" in memory.learnt
    lessons = _teach(Situation.read(view, memory, random.Random(0)))
    assert [action_type_of(c.action) for c in lessons] == ["TEACH"]
    assert lessons[0].action.teach.knowledge == "masonry"
    assert lessons[0].action.teach.student_id == second.id
