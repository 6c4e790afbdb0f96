"""The reflective field checks: every field of any message a peer sends, maps included."""

from __future__ import annotations

import pytest

from emergence.mesh.errors import InvalidArgument
from emergence.mesh.limits import LIMITS, _check_scalar, check_fields
from emergence.v1 import action_pb2, common_pb2, run_pb2


def test_map_keys_and_values_are_checked_like_fields() -> None:
    check_fields(action_pb2.Rejection(details={"needs": "WORKSHOP"}), "rejection")
    with pytest.raises(InvalidArgument, match=r"rejection.details\['needs'\]: at most 4000"):
        check_fields(action_pb2.Rejection(details={"needs": "x" * 5_000}), "rejection")
    with pytest.raises(InvalidArgument, match="NUL"):
        check_fields(action_pb2.Rejection(details={"a\x00b": "c"}), "rejection")


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (run_pb2.DecisionRecord(tokens_out=LIMITS.tokens + 1), "record.tokens_out: at most"),
        (run_pb2.DecisionRecord(cost_usd=float("inf")), "record.cost_usd: must be a finite"),
        (run_pb2.DecisionRecord(cost_usd=-0.01), "record.cost_usd: must not be negative"),
        (run_pb2.DecisionRecord(brain=99), "record.brain: 99 is not a BrainKind"),  # type: ignore[arg-type]
        (run_pb2.DecisionRecord(raw_response="r" * 16_001), "record.raw_response: at most 16000"),
    ],
)
def test_numbers_enums_and_texts_are_bounded(record: run_pb2.DecisionRecord, expected: str) -> None:
    with pytest.raises(InvalidArgument, match=expected) as raised:
        check_fields(record, "record")
    assert len(str(raised.value)) < 300


def largest_allowed_decision() -> run_pb2.Decision:
    """A decision with every bounded field at its limit."""
    return run_pb2.Decision(
        agent_id="a" * LIMITS.id_chars,
        action=action_pb2.Action(
            give=action_pb2.GiveParams(
                target_agent_id="b",
                items=[common_pb2.ResourceAmount(quantity=LIMITS.quantity)] * LIMITS.items,
            )
        ),
        record=run_pb2.DecisionRecord(
            reasoning="r" * LIMITS.long_text_chars,
            tokens_in=LIMITS.tokens,
            cost_usd=LIMITS.cost_usd,
            containment_flags=["f"] * LIMITS.flags,
        ),
    )


def test_the_largest_allowed_decision_passes() -> None:
    check_fields(largest_allowed_decision(), "decision")


RECORD_FIELDS = run_pb2.DecisionRecord.DESCRIPTOR.fields_by_name
EDGE_VALUES = [
    ("latency_ms", [0.0, -0.0, -1e-9, LIMITS.latency_ms, LIMITS.latency_ms * 1.000001]),
    ("latency_ms", [float("nan"), float("inf"), float("-inf")]),
    ("tokens_in", [0, LIMITS.tokens, LIMITS.tokens + 1]),
    ("reasoning", ["", "r" * LIMITS.long_text_chars, "r" * (LIMITS.long_text_chars + 1), "a\x00"]),
    ("route", ["", "x" * LIMITS.text_chars, "x" * (LIMITS.text_chars + 1), "tab\tok"]),
    ("brain", [0, 1, 99]),
]


@pytest.mark.parametrize(("name", "values"), EDGE_VALUES)
def test_the_fast_checks_agree_with_the_readable_ones_at_every_edge(
    name: str, values: list[object]
) -> None:
    """Each field's check is compiled once; at each limit it passes exactly what the
    field-by-field judgement passes, and a failure carries that judgement's message."""
    for value in values:
        try:
            _check_scalar(f"record.{name}", RECORD_FIELDS[name], value, LIMITS)
        except InvalidArgument as expected:
            with pytest.raises(InvalidArgument) as raised:
                check_fields(run_pb2.DecisionRecord(**{name: value}), "record")  # type: ignore[arg-type]
            assert str(raised.value) == str(expected)
        else:
            check_fields(run_pb2.DecisionRecord(**{name: value}), "record")  # type: ignore[arg-type]
