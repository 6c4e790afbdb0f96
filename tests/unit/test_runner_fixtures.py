"""Real perceptions for runner tests, built by the engine core from the default world."""

from __future__ import annotations

import asyncio
import time

from emergence.v1 import perception_pb2, run_pb2
from engine.adapters.convert import perception_to_proto, result_to_proto, submission_from_proto
from engine.core import tick
from engine.core.state import WorldState
from runner.decider import Decider
from tests.sim.world_builder import make_world


def perceptions(state: WorldState) -> dict[str, perception_pb2.Perception]:
    """Advance one tick's wake and perceive; the perceptions as protobuf, by agent id."""
    tick.wake(state)
    return {
        agent_id: perception_to_proto(view)
        for agent_id, view in sorted(tick.perceive(state).items())
    }


def first_perception(agents: int = 6, seed: int = 42) -> perception_pb2.Perception:
    found = perceptions(make_world(agents, seed))
    return found[sorted(found)[0]]


async def one_tick(decider: Decider, state: WorldState) -> list[run_pb2.Decision]:
    """Every living agent decides (model calls concurrently), then the world moves on."""
    found = perceptions(state)
    decider.assign(found)
    tasks = []
    for view in found.values():
        backend = decider.needs_model(view)
        if backend:
            tasks.append(decider.decide_with_model(view, backend, time.monotonic() + 10))
        else:
            tasks.append(asyncio.sleep(0, decider.decide_now(view)))
    decisions = list(await asyncio.gather(*tasks))
    submissions = [
        submission_from_proto(d.agent_id, d.action, order) for order, d in enumerate(decisions)
    ]
    resolved = tick.resolve(state, submissions)
    decider.learn(result_to_proto(r) for r in resolved.results.values())
    return decisions
