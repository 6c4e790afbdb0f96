"""Real perceptions for runner tests, built by the engine core from the default world."""

from __future__ import annotations

from emergence.v1 import perception_pb2
from engine.adapters.convert import perception_to_proto
from engine.core import tick
from engine.core.state import WorldState
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
