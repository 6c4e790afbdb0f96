"""make_action: the cached fast path gives exactly the message built field by field."""

from __future__ import annotations

from typing import Any

import pytest

from emergence.v1 import action_pb2
from runner.core.actions import action_type_of, build_action, describe, make_action

AGENT = "00000000-0000-7000-8000-000000000001"
OTHER = "00000000-0000-7000-8000-000000000002"
CASES: list[tuple[str, dict[str, Any]]] = [
    ("REST", {}),
    ("GATHER", {"resource": "WATER"}),
    ("GATHER", {"resource": "water"}),
    ("TEACH", {"student_id": OTHER, "knowledge": "fire_making"}),
    ("DEPOSIT", {"structure_id": "s-1", "item": ("BERRY", 5)}),
    ("TRADE_OFFER", {"target_agent_id": OTHER, "give": [("WOOD", 2)], "want": [("FISH", 1)]}),
    ("FORM_GROUP", {"name": "Riverbank Band", "member_ids": [OTHER]}),
    ("VOTE", {"proposal_id": "p-1", "yes": False}),
    ("BUILD", {"structure": "LEAN_TO"}),
]


@pytest.mark.parametrize(("action_type", "values"), CASES)
def test_make_action_gives_the_message_built_field_by_field(
    action_type: str, values: dict[str, Any]
) -> None:
    built = build_action(AGENT, action_type, **values)
    for _ in range(2):  # the second time from what the first one cached
        made = make_action(AGENT, action_type, **values)
        assert made == built
        assert made.SerializeToString(deterministic=True) == built.SerializeToString(
            deterministic=True
        )
        assert action_type_of(made) == action_type
        assert describe(made) == describe(built)
    # Another agent's action of the same kind carries that agent's id, not the first one's.
    assert make_action(OTHER, action_type, **values).agent_id == OTHER


def test_each_made_action_is_a_message_of_its_own() -> None:
    first = make_action(AGENT, "GATHER", resource="WATER")
    second = make_action(AGENT, "GATHER", resource="WATER")
    second.gather.resource = action_pb2.Action().gather.resource
    assert first.gather.resource != second.gather.resource


def test_an_unknown_parameter_still_fails() -> None:
    with pytest.raises(KeyError):
        make_action(AGENT, "GATHER", colour="blue")
    with pytest.raises(KeyError):
        make_action(AGENT, "GATHER", colour=["blue"])
