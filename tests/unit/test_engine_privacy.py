"""Another agent's private state (health, trust, holdings, knowledge, marriage) never shapes what
an agent is offered, and a refusal that rests on it says no more than "they declined"."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.core import tick
from engine.core.actions import Action
from engine.core.state import Agent, WorldState
from tests.sim.world_builder import act, agent_list, grant, make_world, place, reason

Change = Callable[[WorldState, Agent, Agent], None]


def pair() -> tuple[WorldState, Agent, Agent]:
    """Two grown agents at the riverbank; a trusts b enough to ask for a child."""
    state = make_world(agents=3)
    a, b, _ = agent_list(state)
    place(state, a, "riverbank")
    place(state, b, "riverbank")
    a.relationships[b.id] = 0.9
    b.relationships[a.id] = 0.9
    grant(state, a, {"FISH": 2})
    grant(state, b, {"WOOD": 3})
    return state, a, b


def listing(state: WorldState, agent: Agent) -> dict[str, dict[str, str]]:
    tick.wake(state)
    perception = tick.perceive(state)[agent.id]
    return {entry.action_type: dict(entry.options) for entry in perception.available_actions}


PRIVATE_CHANGES: dict[str, Change] = {
    "unwell": lambda state, a, b: setattr(b, "health", 10.0),
    "distrustful": lambda state, a, b: b.relationships.update({a.id: -0.5}),
    "married": lambda state, a, b: setattr(b, "partner_id", "someone-else"),
    "recent parent": lambda state, a, b: setattr(b, "last_child_tick", state.tick),
    "empty handed": lambda state, a, b: b.inventory.clear(),
    "tired": lambda state, a, b: setattr(b, "energy", 1.0),
}


@pytest.mark.parametrize("change", sorted(PRIVATE_CHANGES))
def test_what_is_offered_does_not_depend_on_another_agents_private_state(change: str) -> None:
    plain_state, plain_a, _ = pair()
    changed_state, changed_a, changed_b = pair()
    PRIVATE_CHANGES[change](changed_state, changed_a, changed_b)
    before = listing(plain_state, plain_a)
    assert "REPRODUCE" in before and "MARRY" in before
    assert listing(changed_state, changed_a) == before


@pytest.mark.parametrize(
    ("change", "action"),
    [
        ("unwell", "REPRODUCE"),
        ("distrustful", "REPRODUCE"),
        ("recent parent", "REPRODUCE"),
        ("married", "MARRY"),
    ],
)
def test_a_refusal_on_private_state_says_only_that_they_declined(change: str, action: str) -> None:
    state, a, b = pair()
    PRIVATE_CHANGES[change](state, a, b)
    result = act(state, a, Action(action, target_id=b.id))
    assert reason(result) == "UNAVAILABLE_TARGET"
    assert result.rejection is not None
    assert result.rejection.message == f"{b.name} declined"
    assert dict(result.rejection.details) == {"target": b.id}


def test_a_lesson_the_student_does_not_want_is_declined_whatever_the_cause() -> None:
    messages = set()
    for change in ("tired", "knows it"):
        state, a, b = pair()
        a.knowledge.add("agriculture")
        if change == "tired":
            b.energy = 1.0
        else:
            b.knowledge.add("agriculture")
        result = act(state, a, Action("TEACH", target_id=b.id, knowledge="agriculture"))
        assert reason(result) == "UNAVAILABLE_TARGET"
        assert result.rejection is not None
        messages.add(result.rejection.message)
    assert messages == {f"{b.name} declined the lesson"}


def test_the_actors_own_state_is_still_refused_precisely() -> None:
    state, a, b = pair()
    a.relationships[b.id] = 0.1
    result = act(state, a, Action("REPRODUCE", target_id=b.id))
    assert reason(result) == "PERMISSION_DENIED"
    assert result.rejection is not None and result.rejection.details["trust"] == "0.10"
    state, a, b = pair()
    a.partner_id = "someone-else"
    result = act(state, a, Action("MARRY", target_id=b.id))
    assert result.rejection is not None and "you are already married" in result.rejection.message


def test_a_trade_whose_goods_are_gone_is_listed_and_falls_through_when_taken() -> None:
    state, a, b = pair()
    act(state, b, Action("TRADE_OFFER", target_id=a.id, items=(("WOOD", 3),), want=(("FISH", 1),)))
    trade_id = next(iter(state.trades))
    b.inventory.clear()
    assert listing(state, a)["TRADE_ACCEPT"] == {"candidates": trade_id}
    result = act(state, a, Action("TRADE_ACCEPT", target_id=trade_id))
    assert reason(result) == "UNAVAILABLE_TARGET"
    assert result.rejection is not None and "fell through" in result.rejection.message
    assert trade_id in state.trades


def test_stealing_from_empty_pockets_is_tried_and_costs_the_energy() -> None:
    state, a, b = pair()
    b.inventory.clear()
    energy = a.energy
    result = act(state, a, Action("STEAL", target_id=b.id, resource="WOOD"))
    assert result.success, result.outcome
    assert "found no wood" in result.outcome or "caught" in result.outcome
    assert a.energy < energy and "WOOD" not in a.inventory
