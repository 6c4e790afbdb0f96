"""Perception size benchmark: serialized bytes per agent, and where they go, as the crowd grows.

Four worlds: 20 and 100 agents on the default map, 1 000 on a generated 200-location map, and 300
agents standing at one place. The heuristic brain runs each for a while, deciding from the
perceptions as the engine sends them; the perceptions of a few ticks late in the run are measured.
"""

from __future__ import annotations

import os
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
    ticks: int
    generated_locations: int = 0
    one_place: bool = False


SCENARIOS = (
    Scenario("20 agents, default map", 20, 400),
    Scenario("100 agents, default map", 100, 200),
    Scenario("1 000 agents, generated 200-location map", 1000, 30, generated_locations=200),
    Scenario("300 agents at one place", 300, 30, one_place=True),
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


def perceptions_after(state: WorldState, ticks: int, samples: int = 5) -> list[Any]:
    """Run `ticks` ticks with the heuristic brain deciding from the perceptions as sent; the
    perceptions of `samples` ticks spread over the second half, serialized as the engine sends
    them (a late run has more knowledge, structures, messages and kin than its first tick)."""
    from engine.adapters.convert import result_to_proto, submission_from_proto
    from runner.core.heuristic import HeuristicBrain
    from runner.core.memory import AgentMemory, observe, reflect
    from runner.core.routing import RouteCounters, RunnerConfig, decide_without_model

    brain, settings, counters = HeuristicBrain(state.seed), RunnerConfig(), RouteCounters()
    memories: dict[str, AgentMemory] = {}
    every = max(1, ticks // (2 * samples))
    sampled: list[Any] = []
    for step in range(1, ticks + 1):
        core_tick.wake(state)
        sightings = convert.SightingCache()
        messages = {
            agent_id: convert.perception_to_proto(perception, None, sightings)
            for agent_id, perception in sorted(core_tick.perceive(state).items())
        }
        if step > ticks - samples * every and (ticks - step) % every == 0:
            sampled += messages.values()
        submissions = []
        for order, (agent_id, message) in enumerate(messages.items()):
            memory = memories.setdefault(agent_id, AgentMemory(agent_id))
            observe(memory, message)
            decision = decide_without_model(message, memory, brain, settings, counters)
            submissions.append(submission_from_proto(agent_id, decision.action, order))
        resolved = core_tick.resolve(state, submissions)
        for agent_id, result in sorted(resolved.results.items()):
            if agent_id in memories:
                reflect(memories[agent_id], result_to_proto(result))
    return sampled


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


def measure(scenario: Scenario, seed: int = 42) -> dict[str, Any]:
    messages = perceptions_after(world_of(scenario, seed), scenario.ticks)
    sizes = [message.ByteSize() for message in messages]
    spent = field_bytes(messages)
    total = sum(sizes) or 1
    top = sorted(spent.items(), key=lambda item: (-item[1], item[0]))[:4]
    return {
        "label": scenario.label,
        "agents": scenario.agents,
        "ticks": scenario.ticks,
        "perceptions": len(sizes),
        "bytes_p50": int(statistics.median(sizes)) if sizes else 0,
        "bytes_max": max(sizes, default=0),
        "largest_fields": [(name, round(100 * size / total)) for name, size in top],
    }


def run_perception_bench(
    seed: int = 42, scenarios: tuple[Scenario, ...] = SCENARIOS
) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    rows = [measure(scenario, seed) for scenario in scenarios]
    return {
        "rows": rows,
        "seed": seed,
        "target_p50_bytes": TARGET_P50_BYTES,
        "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def render(figures: dict[str, Any]) -> str:
    lines = [
        "| world | ticks run | perceptions sampled | bytes/agent p50 | bytes/agent max"
        " | largest fields (% of bytes) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in figures["rows"]:
        fields = ", ".join(f"{name} {share} %" for name, share in row["largest_fields"])
        lines.append(
            f"| {row['label']} | {row['ticks']} | {row['perceptions']} | {row['bytes_p50']:,} "
            f"| {row['bytes_max']:,} | {fields} |"
        )
    load = figures["load"]
    lines += [
        "",
        f"Seed {figures['seed']}, heuristic brain deciding from the perceptions as sent; every"
        " perception of 5 ticks spread over the second half of the run, serialized as the engine"
        " sends it. Target: p50 ≤ "
        f"{figures['target_p50_bytes']:,} bytes in every world. Sizes do not depend on the load "
        f"(1-minute load average {load[0]} before, {load[1]} after).",
    ]
    return "\n".join(lines)
