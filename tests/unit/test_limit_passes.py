"""The compiled limit test gives the reflective check's verdict on every message, at every edge."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from emergence.mesh.errors import InvalidArgument
from emergence.mesh.limit_passes import passes_for, passes_limits
from emergence.mesh.limits import LIMITS, PeerLimits, check_fields
from emergence.v1 import action_pb2, common_pb2, engine_service_pb2, run_pb2
from tests.unit.test_peer_limits import largest_allowed_decision


def reflective_verdict(message: object, limits: PeerLimits = LIMITS) -> bool:
    try:
        check_fields(message, "m", limits)  # type: ignore[arg-type]
    except InvalidArgument:
        return False
    return True


def texts(limit: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["", "ok", "tab\tnot printable", "nul\x00inside", "é" * limit]),
        st.sampled_from([limit - 1, limit, limit + 1]).map(lambda size: "x" * size),
    )


NUMBERS = st.sampled_from(
    [0, 1, -1, LIMITS.tokens, LIMITS.tokens + 1, LIMITS.whole_number, LIMITS.whole_number + 1]
)
FLOATS = st.sampled_from(
    [
        *(0.0, -0.0, -1e-9, 0.5, LIMITS.cost_usd, LIMITS.cost_usd * 1.000001),
        *(LIMITS.latency_ms, LIMITS.latency_ms * 1.000001),
        *(float("nan"), float("inf"), float("-inf")),
    ]
)


@st.composite
def records(draw: st.DrawFn) -> run_pb2.DecisionRecord:
    return run_pb2.DecisionRecord(
        brain=draw(st.sampled_from([0, 1, 2, 3, 4, 99])),  # type: ignore[arg-type]
        model=draw(texts(LIMITS.text_chars)),
        latency_ms=draw(FLOATS),
        tokens_in=abs(draw(NUMBERS)),
        cost_usd=draw(FLOATS),
        reasoning=draw(texts(LIMITS.long_text_chars)),
        route=draw(texts(LIMITS.text_chars)),
        containment_flags=draw(
            st.lists(texts(LIMITS.id_chars), max_size=3) | st.just(["f"] * (LIMITS.flags + 1))
        ),
    )


@st.composite
def actions(draw: st.DrawFn) -> action_pb2.Action:
    agent = draw(texts(LIMITS.id_chars))
    kind = draw(st.sampled_from(["give", "communicate", "rest", "vote", "none"]))
    if kind == "give":
        quantity = draw(st.sampled_from([0, 1, LIMITS.quantity, LIMITS.quantity + 1]))
        items = [common_pb2.ResourceAmount(quantity=quantity)] * draw(
            st.sampled_from([0, 1, LIMITS.items, LIMITS.items + 1])
        )
        target = draw(texts(LIMITS.id_chars))
        return action_pb2.Action(
            agent_id=agent, give=action_pb2.GiveParams(target_agent_id=target, items=items)
        )
    if kind == "communicate":
        message = action_pb2.CommunicateParams(text=draw(texts(LIMITS.text_chars)))
        return action_pb2.Action(agent_id=agent, communicate=message)
    if kind == "rest":
        return action_pb2.Action(agent_id=agent, rest=action_pb2.RestParams())
    if kind == "vote":
        return action_pb2.Action(agent_id=agent, vote=action_pb2.VoteParams(yes=True))
    return action_pb2.Action(agent_id=agent)


@settings(max_examples=400, deadline=None)
@given(
    agent=texts(LIMITS.id_chars),
    tick=NUMBERS,
    action=st.none() | actions(),
    record=st.none() | records(),
)
def test_a_decision_passes_exactly_when_the_reflective_check_passes(
    agent: str,
    tick: int,
    action: action_pb2.Action | None,
    record: run_pb2.DecisionRecord | None,
) -> None:
    decision = run_pb2.Decision(agent_id=agent, tick=abs(tick), action=action, record=record)
    assert passes_limits(decision) == reflective_verdict(decision)


def test_the_largest_allowed_decision_passes_and_one_more_item_fails() -> None:
    largest = largest_allowed_decision()
    assert passes_limits(largest)
    largest.action.give.items.append(common_pb2.ResourceAmount(quantity=1))
    assert not passes_limits(largest)
    assert not reflective_verdict(largest)


def test_maps_are_left_to_the_reflective_check() -> None:
    """A non-empty map fails the compiled test; the reflective check then judges it."""
    empty, filled = action_pb2.Rejection(), action_pb2.Rejection(details={"needs": "WORKSHOP"})
    assert passes_limits(empty)
    assert not passes_limits(filled)
    assert reflective_verdict(filled)


def test_other_limits_get_their_own_compiled_test() -> None:
    strict = PeerLimits(text_chars=10)
    request = engine_service_pb2.ConnectRequest(
        goodbye=engine_service_pb2.RunnerGoodbye(reason="x" * 11)
    )
    assert passes_for(engine_service_pb2.ConnectRequest.DESCRIPTOR)(request)
    assert not passes_for(engine_service_pb2.ConnectRequest.DESCRIPTOR, strict)(request)
    assert not reflective_verdict(request, strict)
