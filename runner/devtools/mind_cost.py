"""The runner brain's cost per decision, apart from the engine: record the perceptions and results
of an in-process run once, then replay them through fresh deciders and time only the decider.

    python -m runner.devtools.mind_cost --agents 20 --ticks 300 --seed 42 --repeat 3

The time is the process's CPU time (a shared machine's load stretches wall time far more) spent in
observe, route, decide, finish and learn, over every decision of the run; the fewest of the
repeats is printed. The fingerprint covers every decision (action, reasoning, goal, route,
override), so two versions of the mind can be checked to decide alike on the same stream.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import dataclass

from emergence.v1 import action_pb2, perception_pb2, run_pb2
from engine.adapters.convert import perception_to_proto, result_to_proto, submission_from_proto
from engine.core import tick
from engine.core.config import load_world_config
from engine.core.world import new_world
from runner.core.routing import RunnerConfig
from runner.decider import Decider


@dataclass(frozen=True)
class Stream:
    """Every tick's perceptions (in agent order) and action results, as the runner receives them."""

    ticks: list[tuple[list[bytes], list[bytes]]]

    @property
    def decisions(self) -> int:
        return sum(len(perceptions) for perceptions, _ in self.ticks)


def record(agents: int, ticks: int, seed: int, generated_locations: int = 0) -> Stream:
    """Run the world with the runner's decider in process and keep what the runner was sent."""
    map_name = "generated" if generated_locations else "default"
    state, _, _ = new_world(
        load_world_config(None),
        seed=seed,
        agents=agents,
        map_name=map_name,
        generated_locations=generated_locations,
    )
    decider = Decider(RunnerConfig(), seed=seed)
    stream: list[tuple[list[bytes], list[bytes]]] = []
    for _ in range(ticks):
        tick.wake(state)
        perceptions = tick.perceive(state)
        protos = [perception_to_proto(perceptions[agent_id]) for agent_id in sorted(perceptions)]
        submissions = []
        for order, proto in enumerate(protos):
            decider.needs_model(proto)
            decision = decider.decide_now(proto)
            submissions.append(submission_from_proto(decision.agent_id, decision.action, order))
        resolved = tick.resolve(state, submissions)
        results = [result_to_proto(result) for _, result in sorted(resolved.results.items())]
        decider.learn(results)
        stream.append(
            (
                [proto.SerializeToString() for proto in protos],
                [r.SerializeToString() for r in results],
            )
        )
    return Stream(stream)


def replay(stream: Stream, seed: int) -> tuple[float, str]:
    """(CPU seconds spent deciding, fingerprint of every decision) through a fresh decider."""
    ticks = [
        (
            [perception_pb2.Perception.FromString(raw) for raw in perceptions],
            [action_pb2.ActionResult.FromString(raw) for raw in results],
        )
        for perceptions, results in stream.ticks
    ]
    decider = Decider(RunnerConfig(), seed=seed)
    decisions: list[run_pb2.Decision] = []
    started = time.process_time()
    for perceptions, results in ticks:
        for perception in perceptions:
            decider.needs_model(perception)
            decisions.append(decider.decide_now(perception))
        decider.learn(results)
    spent = time.process_time() - started
    digest = hashlib.sha256()
    for decision in decisions:
        record = decision.record
        digest.update(decision.action.SerializeToString(deterministic=True))
        digest.update(
            f"{record.reasoning}|{record.goal_update}|{record.route}|{record.overridden}|"
            f"{record.override_reason}".encode()
        )
    return spent, digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--ticks", type=int, default=300)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--locations", type=int, default=0, help="a generated map of this size")
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args(argv)
    stream = record(arguments.agents, arguments.ticks, arguments.seed, arguments.locations)
    runs = [replay(stream, arguments.seed) for _ in range(max(1, arguments.repeat))]
    fewest = min(spent for spent, _ in runs)
    print(
        f"decisions {stream.decisions}, mind {fewest / stream.decisions * 1e6:.0f} us CPU a "
        f"decision (fewest of {len(runs)}), fingerprint {runs[0][1][:16]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
