"""The engine's CPU per tick apart from the mind: record an in-process run once (the world at a
tick and the decisions of the ticks after it), then replay those ticks through the engine alone
and time each phase in process time.

    python -m bench.engine_cost --agents 20 --warmup 300 --ticks 50 --repeat 3
    python -m bench.engine_cost --agents 1000 --locations 200 --warmup 30 --ticks 10

Phases, as a real tick pays them: wake (the world copy and the wake rules), perceive (the core
perceptions), convert (to protobuf and serialized, as sent), resolve (the decisions read from
protobuf and applied), commit (the results, ledger entries, balance digest and events converted,
each event serialized once, and the ledger's own check of the entries). The world a replay starts
from is the recorded run's, so it holds what a society builds (relationships, structures, groups),
not a fresh map. The fingerprint covers every perception, result, entry and event of the replay:
two versions of the engine that print the same one computed the same ticks.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import pickle
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emergence.history import event_payloads
from emergence.mesh.collector import tune_for_ticks
from emergence.v1 import action_pb2, ledger_pb2, run_pb2
from emergence.v1.perception_pb2 import Perception
from engine.adapters import convert
from engine.core import tick as core_tick
from engine.core.config import load_world_config
from engine.core.perception import Perception as CorePerception
from engine.core.state import WorldState
from engine.core.world import new_world
from engine.simulation import assemble_events, clone_state, order_submissions
from ledger_service.adapters.convert import entry_from_proto
from ledger_service.core.book import Book
from runner.core.routing import RunnerConfig
from runner.decider import Decider

PHASES = ("wake", "perceive", "convert", "resolve", "commit")


@dataclass
class Recording:
    """The world after the warm-up, the results the runners last got, and each later tick's
    decisions (agent id -> serialized Action)."""

    state: bytes
    results: dict[str, bytes]
    decisions: list[dict[str, bytes]] = field(default_factory=list)


def record(agents: int, warmup: int, ticks: int, seed: int, locations: int = 0) -> Recording:
    """Run the world with the runner's decider in process; keep the world after `warmup` ticks
    and the decisions of the `ticks` after it."""
    state, _, _ = new_world(
        load_world_config(None),
        seed=seed,
        agents=agents,
        map_name="generated" if locations else "default",
        generated_locations=locations,
    )
    decider = Decider(RunnerConfig(), seed=seed)
    recording: Recording | None = None
    results: dict[str, bytes] = {}
    for index in range(warmup + ticks):
        if index == warmup:
            snapshot = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
            recording = Recording(snapshot, dict(results))
        core_tick.wake(state)
        perceptions = core_tick.perceive(state)
        decisions: dict[str, run_pb2.Decision] = {}
        for agent_id in sorted(perceptions):
            proto = convert.perception_to_proto(perceptions[agent_id])
            decider.needs_model(proto)
            decisions[agent_id] = decider.decide_now(proto)
        submissions = order_submissions(state.seed, state.tick, decisions)
        resolved = core_tick.resolve(state, submissions)
        protos = [convert.result_to_proto(r) for _, r in sorted(resolved.results.items())]
        decider.learn(protos)
        results = {p.agent_id: p.SerializeToString() for p in protos}
        if recording is not None:
            recording.decisions.append(
                {a: d.action.SerializeToString() for a, d in decisions.items()}
            )
        print(f"recorded tick {state.tick}", file=sys.stderr, end="\r")
    assert recording is not None
    return recording


Decide = Callable[[WorldState, dict[str, CorePerception]], dict[str, action_pb2.Action]]


@dataclass
class EngineTick:
    """One tick as the engine runs it: the world after it and what the runners and stores get."""

    state: WorldState
    results: dict[str, action_pb2.ActionResult]
    sent: list[bytes]  # the perceptions, serialized
    canonical: list[bytes]  # the events, as hashed
    entries: list[ledger_pb2.LedgerEntry]
    digests: str  # the engine's and the ledger's balance digests, and whether the ledger took it
    spent_ms: dict[str, float]  # CPU milliseconds per phase (deciding not counted)


def engine_tick(
    state: WorldState, results: dict[str, action_pb2.ActionResult], book: Book, decide: Decide
) -> EngineTick:
    """Copy the world, wake, perceive, convert, (decide), resolve and commit one tick."""
    clock = time.process_time
    started = clock()
    state = clone_state(state)
    woke = core_tick.wake(state)
    times = [clock()]
    perceptions = core_tick.perceive(state)
    times.append(clock())
    sightings = convert.SightingCache()
    sent = [
        convert.perception_to_proto(view, results.get(agent), sightings).SerializeToString()
        for agent, view in perceptions.items()
    ]
    times.append(clock())
    actions = decide(state, perceptions)
    decided = clock()
    tick = state.tick
    answered = {
        agent: run_pb2.Decision(agent_id=agent, tick=tick, action=action)
        for agent, action in actions.items()
        if agent in perceptions
    }
    resolved = core_tick.resolve(state, order_submissions(state.seed, tick, answered))
    times.append(clock() - (decided - times[-1]))
    entries = [convert.entry_to_proto(entry, tick) for entry in [*woke.entries, *resolved.entries]]
    engine_digest = convert.engine_digest(state)
    plan = book.plan_tick(tick, [entry_from_proto(entry) for entry in entries])
    book.apply(plan)
    events = assemble_events(
        state, "run", tick, [*woke.events, *resolved.events], [], [], plan.digest
    )
    canonical, _ = event_payloads(events)
    results = {agent: convert.result_to_proto(r) for agent, r in resolved.results.items()}
    times.append(clock() - (decided - times[2]))
    spent = {
        phase: (times[index] - (times[index - 1] if index else started)) * 1000
        for index, phase in enumerate(PHASES)
    }
    digests = f"{engine_digest}|{plan.digest}|{plan.accepted}"
    return EngineTick(state, results, sent, canonical, entries, digests, spent)


def replay(recording: Recording) -> tuple[dict[str, list[float]], str]:
    """CPU milliseconds per phase for every tick, and the fingerprint of what the ticks made."""
    state: WorldState = pickle.loads(recording.state)
    results = {
        agent: action_pb2.ActionResult.FromString(raw) for agent, raw in recording.results.items()
    }
    book = Book(ledger_balances(state))
    digest = hashlib.sha256()
    spent: dict[str, list[float]] = {phase: [] for phase in PHASES}
    for decisions in recording.decisions:
        recorded = {agent: action_pb2.Action.FromString(raw) for agent, raw in decisions.items()}
        made = engine_tick(state, results, book, _given(recorded))
        state, results = made.state, made.results
        for phase in PHASES:
            spent[phase].append(made.spent_ms[phase])
        fingerprint(digest, made)
    return spent, digest.hexdigest()


def _given(actions: dict[str, action_pb2.Action]) -> Decide:
    def decide(_state: WorldState, _perceptions: dict[str, CorePerception]) -> dict[str, Any]:
        return actions

    return decide


def fingerprint(digest: Any, made: EngineTick) -> None:
    """Fold what a tick made into `digest` (maps serialize in no fixed order: read in a fixed one)."""
    for payload in made.sent:
        digest.update(Perception.FromString(payload).SerializeToString(deterministic=True))
    for payload in made.canonical:
        digest.update(payload)
    for entry in made.entries:
        digest.update(entry.SerializeToString(deterministic=True))
    for agent in sorted(made.results):
        digest.update(made.results[agent].SerializeToString(deterministic=True))
    digest.update(made.digests.encode())


def ledger_balances(state: WorldState) -> dict[tuple[str, str, str], int]:
    """The ledger's balances for this world: every holding, and WORLD and VOID's totals."""
    from engine.core.entries import state_balances

    balances = state_balances(state)
    for resource, quantity in state.world_in.items():
        balances[("WORLD", "", resource)] = -quantity
    for resource, quantity in state.void_out.items():
        balances[("VOID", "", resource)] = quantity
    return balances


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--locations", type=int, default=0, help="a generated map of this many")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--ticks", type=int, default=50)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache", type=Path, help="keep the recording in this file")
    arguments = parser.parse_args(argv)
    if arguments.cache and arguments.cache.exists():
        recording = Recording(*pickle.loads(arguments.cache.read_bytes()))
    else:
        recording = record(
            arguments.agents, arguments.warmup, arguments.ticks, arguments.seed, arguments.locations
        )
        if arguments.cache:
            fields = (recording.state, recording.results, recording.decisions)
            arguments.cache.write_bytes(pickle.dumps(fields))
    tune_for_ticks()  # as the engine process collects garbage
    runs = []
    for _ in range(arguments.repeat):
        gc.collect()
        runs.append(replay(recording))
    fingerprints = {fingerprint for _, fingerprint in runs}
    figures: dict[str, Any] = {}
    for phase in PHASES:
        figures[phase] = min(statistics.median(spent[phase]) for spent, _ in runs)
    totals = [
        statistics.median(sum(values) for values in zip(*spent.values(), strict=True))
        for spent, _ in runs
    ]
    print(
        " ".join(f"{phase} {figures[phase]:.2f}" for phase in PHASES)
        + f" | total {min(totals):.2f} ms CPU a tick (median of ticks, fewest of"
        f" {arguments.repeat}) | fingerprint {' '.join(f[:16] for f in sorted(fingerprints))}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
