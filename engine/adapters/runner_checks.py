"""Checks on everything a runner sends: sizes and ranges of every field, whose agent, which tick.

A runner is a peer, not part of the engine: whatever it sends is judged here before any of it
reaches the world, the store or the bus. Every limit is far above what an honest runner sends
(it truncates reasoning and raw replies to 2 000 characters), so a violation means a broken or
hostile runner: the whole batch is refused (nothing of it is used) with INVALID_ARGUMENT naming
the field and quoting at most a short slice of the value. Containment flags are never taken from
the runner: the engine scans the agent's text itself.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from emergence.containment import scan_action_texts
from emergence.mesh.errors import InvalidArgument
from emergence.mesh.limit_passes import passes_for
from emergence.mesh.limits import LIMITS, PeerLimits, check_fields, quote
from emergence.v1 import engine_service_pb2, run_pb2


def check_hello(hello: engine_service_pb2.RunnerHello, limits: PeerLimits = LIMITS) -> None:
    """A RunnerHello within bounds: a printable runner id, short version and token."""
    for name in ("runner_id", "version", "auth_token"):
        value = getattr(hello, name)
        if len(value) > limits.hello_text_chars or "\x00" in value:
            raise InvalidArgument(f"hello.{name}: at most {limits.hello_text_chars} characters")
    if len(hello.runner_id) > limits.id_chars or not hello.runner_id.isprintable():
        raise InvalidArgument(
            f"hello.runner_id: a printable name of at most {limits.id_chars} characters, "
            f"got {quote(hello.runner_id)}"
        )
    if len(hello.brains) > limits.items:
        raise InvalidArgument(f"hello.brains: at most {limits.items} items")


def admit_batch(
    batch: engine_service_pb2.DecisionBatch,
    *,
    tick: int,
    runner_id: str,
    assigned: Mapping[str, str],
    already_received: Collection[str],
    limits: PeerLimits = LIMITS,
) -> list[run_pb2.Decision]:
    """The batch's decisions, each checked and with engine-side containment flags, or
    InvalidArgument for the first problem (then nothing of the batch may be used).

    `assigned` maps each agent expected this tick to the runner that owns it.
    """
    admitted: list[run_pb2.Decision] = []
    seen: set[str] = set()
    # Nearly every decision passes: the compiled test gives the verdict, and only a decision
    # that fails it is walked field by field to say which field and why.
    passes = passes_for(run_pb2.Decision.DESCRIPTOR, limits)
    for index, decision in enumerate(batch.decisions):
        if not passes(decision):
            check_fields(decision, f"decisions[{index}]", limits)
        agent_id = decision.agent_id
        if (
            decision.tick != tick
            or assigned.get(agent_id) != runner_id
            or agent_id in seen
            or agent_id in already_received
            or decision.action.agent_id not in ("", agent_id)
            or decision.record.brain == run_pb2.BRAIN_KIND_ENGINE
        ):
            _refuse(index, decision, tick, runner_id, assigned, seen, already_received)
        seen.add(agent_id)
        admitted.append(_with_engine_flags(decision))
    return admitted


def _refuse(
    index: int,
    decision: run_pb2.Decision,
    tick: int,
    runner_id: str,
    assigned: Mapping[str, str],
    seen: set[str],
    already_received: Collection[str],
) -> None:
    """Raise InvalidArgument for the rule `decision` breaks (kept apart from the usual path)."""
    where, agent_id = f"decisions[{index}]", decision.agent_id
    if decision.tick != tick:
        raise InvalidArgument(
            f"{where}.tick: {decision.tick} is not the tick of its batch ({tick}); "
            "answer each perception under the tick it came with"
        )
    if assigned.get(agent_id) != runner_id:
        raise InvalidArgument(
            f"{where}.agent_id: agent {quote(agent_id)} is not assigned to runner "
            f"{quote(runner_id)} for tick {tick}; decide only for the agents the engine "
            "sent perceptions for"
        )
    if agent_id in seen or agent_id in already_received:
        raise InvalidArgument(
            f"{where}: a second decision for agent {quote(agent_id)} in tick {tick}"
        )
    if decision.action.agent_id not in ("", agent_id):
        raise InvalidArgument(
            f"{where}.action.agent_id: {quote(decision.action.agent_id)} acts for another "
            f"agent than the decision's {quote(agent_id)}"
        )
    raise InvalidArgument(f"{where}.record.brain: ENGINE is the engine's own, not a runner's")


def _with_engine_flags(decision: run_pb2.Decision) -> run_pb2.Decision:
    """The runner's containment flags replaced by the engine's own scan of the same text."""
    record = decision.record
    flags, matched = scan_action_texts(decision.action, record.reasoning)
    if not flags and not matched and not record.containment_flags and not record.containment_text:
        return decision  # clean text, nothing claimed: the usual case, left untouched
    del record.containment_flags[:]
    record.containment_flags.extend(flags)
    record.containment_text = matched[:2_000]
    return decision
