"""Perception size benchmark: serialized bytes per agent, and where they go, as the crowd grows.

Four worlds: 20 and 100 agents on the default map, 1 000 on a generated 200-location map, and 300
agents standing at one place. Each runs a few ticks under the tick bench's trivial policy, then
every perception of the next tick is built and serialized as the engine sends it.
"""

from __future__ import annotations

import os
import random
import statistics
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from emergence.v1 import perception_pb2
from engine.adapters import convert
from engine.core import tick as core_tick
from engine.core.config import load_world_config
from engine.core.state import WorldState
from engine.core.world import new_world


@dataclass(frozen=True, slots=True)
class Scenario:
    label: str
    agents: int
    generated_locations: int = 0
    one_place: bool = False


SCENARIOS = (
    Scenario("20 agents, default map", 20),
    Scenario("100 agents, default map", 100),
    Scenario("1 000 agents, generated 200-location map", 1000, generated_locations=200),
    Scenario("300 agents at one place", 300, one_place=True),
)
TARGET_P50_BYTES = 4096


def world_of(scenario: Scenario, seed: int) -> WorldState:
    config = load_world_config(None)
    state, _, _ = new_world(
        config,
        seed=seed,
        agents=scenario.agents,
        map_name="generated" if scenario.generated_locations else "default",
        generated_locations=scenario.generated_locations,
    )
    if scenario.one_place:
        _gather_at_one_place(state)
    return state


def _gather_at_one_place(state: WorldState) -> None:
    """Everyone moves to the place the most agents started at (the first such, by id)."""
    crowded = max(sorted(state.locations.values(), key=lambda loc: loc.id),
                  key=lambda loc: len(loc.agent_ids))  # fmt: skip
    for agent in state.agents.values():
        state.locations[agent.location_id].agent_ids.discard(agent.id)
        agent.location_id = crowded.id
        crowded.agent_ids.add(agent.id)


def perceptions_after(state: WorldState, ticks: int) -> list[perception_pb2.Perception]:
    """Run `ticks` ticks under the trivial policy, then the next tick's perceptions as sent."""
    from bench.tick import trivial_action

    for _ in range(ticks):
        core_tick.wake(state)
        perceptions = core_tick.perceive(state)
        rng = random.Random(state.tick)
        submissions = [
            core_tick.Submission(agent_id, trivial_action(perception, rng), order)
            for order, (agent_id, perception) in enumerate(sorted(perceptions.items()))
        ]
        core_tick.resolve(state, submissions)
    core_tick.wake(state)
    sightings = convert.SightingCache()
    return [
        convert.perception_to_proto(perception, None, sightings)
        for _, perception in sorted(core_tick.perceive(state).items())
    ]


def field_bytes(messages: list[perception_pb2.Perception]) -> dict[str, int]:
    """Serialized bytes per top-level Perception field, summed over `messages`."""
    totals: dict[str, int] = {}
    for message in messages:
        for descriptor, value in message.ListFields():
            alone = perception_pb2.Perception()
            if isinstance(value, Message):
                getattr(alone, descriptor.name).CopyFrom(value)
            elif isinstance(value, (str, bytes, int, float)):
                setattr(alone, descriptor.name, value)
            else:
                getattr(alone, descriptor.name).extend(value)
            totals[descriptor.name] = totals.get(descriptor.name, 0) + alone.ByteSize()
    return totals


def measure(scenario: Scenario, seed: int = 42, ticks: int = 5) -> dict[str, Any]:
    messages = perceptions_after(world_of(scenario, seed), ticks)
    sizes = [message.ByteSize() for message in messages]
    spent = field_bytes(messages)
    total = sum(sizes) or 1
    top = sorted(spent.items(), key=lambda item: (-item[1], item[0]))[:4]
    return {
        "label": scenario.label,
        "agents": scenario.agents,
        "perceptions": len(sizes),
        "bytes_p50": int(statistics.median(sizes)) if sizes else 0,
        "bytes_max": max(sizes, default=0),
        "largest_fields": [(name, round(100 * size / total)) for name, size in top],
    }


def run_perception_bench(seed: int = 42, ticks: int = 5) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    rows = [measure(scenario, seed, ticks) for scenario in SCENARIOS]
    return {
        "rows": rows,
        "seed": seed,
        "ticks": ticks,
        "target_p50_bytes": TARGET_P50_BYTES,
        "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def render(figures: dict[str, Any]) -> str:
    lines = [
        "| world | perceptions | bytes/agent p50 | bytes/agent max | largest fields (% of bytes) |",
        "|---|---:|---:|---:|---|",
    ]
    for row in figures["rows"]:
        fields = ", ".join(f"{name} {share} %" for name, share in row["largest_fields"])
        lines.append(
            f"| {row['label']} | {row['perceptions']} | {row['bytes_p50']:,} "
            f"| {row['bytes_max']:,} | {fields} |"
        )
    load = figures["load"]
    lines += [
        "",
        f"Seed {figures['seed']}; {figures['ticks']} ticks of the tick bench's trivial policy, then"
        " every perception of the next tick, serialized as the engine sends it. Target: p50 ≤ "
        f"{figures['target_p50_bytes']:,} bytes in every world. Sizes do not depend on the load "
        f"(1-minute load average {load[0]} before, {load[1]} after).",
    ]
    return "\n".join(lines)
