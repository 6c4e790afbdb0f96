"""Snapshot benchmark: writing and reading the versioned protobuf snapshot of a live world, next
to the pickle it replaced (which is no longer read, because loading it could run code)."""

from __future__ import annotations

import functools
import os
import pickle
import random
import statistics
import time
import zlib
from typing import Any

from bench.tick import trivial_action
from engine.core import tick as core_tick
from engine.core.config import load_world_config
from engine.core.state import WorldState
from engine.core.world import new_world
from engine.simulation import deserialize_state, serialize_state


def run_world_ticks(agents: int, ticks: int, seed: int = 42) -> WorldState:
    """A world of `agents` on the generated map after `ticks` ticks of the tick bench's policy."""
    state, _, _ = new_world(
        load_world_config(None), seed=seed, agents=agents, map_name="generated",
        generated_locations=200,
    )  # fmt: skip
    for _ in range(ticks):
        core_tick.wake(state)
        perceptions = core_tick.perceive(state)
        rng = random.Random(state.tick)
        submissions = [
            core_tick.Submission(agent_id, trivial_action(perception, rng), order)
            for order, (agent_id, perception) in enumerate(sorted(perceptions.items()))
        ]
        core_tick.resolve(state, submissions)
    return state


def _pickled(state: WorldState) -> bytes:
    return zlib.compress(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL), 3)


def _median_ms(action: Any, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 1)


def run_snapshot_bench(
    agent_counts: tuple[int, ...] = (100, 1000), ticks: int = 10, repeats: int = 5
) -> dict[str, Any]:
    """Median write and read milliseconds and the size of one snapshot, per population size."""
    load_before = os.getloadavg()[0]
    rows = []
    for agents in agent_counts:
        state = run_world_ticks(agents, ticks)
        payload = serialize_state(state)
        pickled = _pickled(state)
        rows.append(
            {
                "agents": agents,
                "write_ms": _median_ms(functools.partial(serialize_state, state), repeats),
                "read_ms": _median_ms(functools.partial(deserialize_state, payload), repeats),
                "kilobytes": round(len(payload) / 1024, 1),
                "pickle_write_ms": _median_ms(functools.partial(_pickled, state), repeats),
                "pickle_kilobytes": round(len(pickled) / 1024, 1),
            }
        )
    return {"rows": rows, "load": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def render(figures: dict[str, Any]) -> str:
    lines = [
        "| agents | write ms | read ms | size KB | pickle write ms (no longer read) | pickle KB |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in figures["rows"]:
        lines.append(
            f"| {row['agents']} | {row['write_ms']} | {row['read_ms']} | {row['kilobytes']} "
            f"| {row['pickle_write_ms']} | {row['pickle_kilobytes']} |"
        )
    lines.append("")
    lines.append(
        "Medians of repeated writes and reads of one world after a few ticks. A run writes a "
        "snapshot every 100 ticks (and at the end), so the write cost per tick is a hundredth of "
        "the figure; reads happen on replay, verify and resume only."
    )
    load = figures.get("load")
    if load and load[0] >= 0.5:
        lines.append("")
        lines.append(
            f"The machine was busy during this measurement (load {load[0]} before, {load[1]} "
            "after): the figures are upper bounds."
        )
    return "\n".join(lines)
