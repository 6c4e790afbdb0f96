"""The decision-window bench over real loopback gRPC: our hub and runner clients, a raw-bytes
echo and a typed echo of the same batches, each answering every perception of the window."""

from __future__ import annotations

from bench.stream import (
    TYPED,
    _echo,
    _typed_payloads,
    canned_decisions,
    runner_round_against_echo,
)
from emergence.v1 import engine_service_pb2, perception_pb2
from engine.adapters import convert
from engine.core import tick as core_tick
from tests.sim.world_builder import make_world

AGENTS = 150  # two runners, more than one batch of 100 each way for one of them


def world_perceptions() -> dict[str, perception_pb2.Perception]:
    state = make_world(agents=AGENTS, seed=11)
    core_tick.wake(state)
    return {a: convert.perception_to_proto(v) for a, v in core_tick.perceive(state).items()}


async def test_the_round_reports_ours_the_raw_echo_and_the_typed_echo() -> None:
    perceptions = world_perceptions()
    figures = await runner_round_against_echo(perceptions, rounds=1)
    assert figures["agents"] == AGENTS
    for key in ("ours_ms", "echo_ms", "typed_echo_ms", "ratio", "typed_ratio"):
        assert figures[key] > 0, figures


async def test_the_typed_echo_sends_whole_messages_both_ways() -> None:
    """Every perception goes out in a batch message and every decision comes back in one."""
    perceptions = world_perceptions()
    canned = canned_decisions(perceptions, seed=3)
    batches, answers = _typed_payloads(perceptions, canned, runners=2)
    sent = [view.agent_id for mine in batches for b in mine for view in b.perceptions.perceptions]
    assert sorted(sent) == sorted(perceptions)
    assert all(isinstance(b, engine_service_pb2.ConnectResponse) for mine in batches for b in mine)
    answered = [d.agent_id for mine in answers for a in mine for d in a.decisions.decisions]
    assert sorted(answered) == sorted(perceptions)
    async with _echo(batches, answers, TYPED) as one_round:
        assert await one_round() > 0
        assert await one_round() > 0
