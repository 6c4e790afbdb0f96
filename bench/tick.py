"""Tick benchmark: the engine's own phases (wake with its world copy, perception with its protobuf
conversion, resolve) as a real tick pays them, without the decision wait or the commit.

A trivial seeded policy stands in for the brains (drink, eat, gather, rest, move at random), so the
figures measure the rules machine alone.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from typing import Any

from engine.adapters import convert
from engine.core import tick as core_tick
from engine.core.actions import Action
from engine.core.config import load_world_config
from engine.core.perception import Perception
from engine.core.world import new_world
from engine.simulation import clone_state

FOODS = ("FISH", "BERRY", "ROOT", "MEAT", "FARMED", "COOKED")


def trivial_action(perception: Perception, rng: random.Random) -> Action:
    """Survive first, otherwise a random gather, rest or move among what is available."""
    me = perception.self_view
    available = {a.action_type: a for a in perception.available_actions}
    held = dict(me.inventory)
    if me.thirst > 40 and "DRINK" in available:
        return Action("DRINK")
    food = next((f for f in FOODS if held.get(f)), "")
    if me.hunger > 40 and food:
        return Action("EAT", resource=food)
    roll = rng.random()
    if roll < 0.5 and "GATHER" in available:
        options = available["GATHER"].options.get("candidates", "").split(",")
        return Action("GATHER", resource=rng.choice(options))
    if roll < 0.6 and "MOVE" in available:
        options = available["MOVE"].options.get("candidates", "").split(",")
        choice = rng.choice(options)
        if choice.startswith("route:"):
            return Action("MOVE", route_id=choice.removeprefix("route:"))
        return Action("MOVE", target_id=choice)
    return Action("REST")


def run_tick_bench(
    agent_counts: tuple[int, ...] = (10, 100, 1000),
    locations: int = 200,
    ticks: int = 20,
    seed: int = 42,
) -> dict[str, Any]:
    """Median milliseconds per phase and engine ticks per second, for each population size."""
    rows = []
    load_before = os.getloadavg()[0]
    config = load_world_config(None)
    for agents in agent_counts:
        state, _, _ = new_world(
            config, seed=seed, agents=agents, map_name="generated", generated_locations=locations
        )
        wake_ms, perceive_ms, resolve_ms, total_ms = [], [], [], []
        for _ in range(ticks):
            started = time.perf_counter()
            state = clone_state(state)  # every real tick works on a copy of the world
            core_tick.wake(state)
            woke = time.perf_counter()
            perceptions = core_tick.perceive(state)
            sightings = convert.SightingCache()
            for perception in perceptions.values():
                convert.perception_to_proto(perception, None, sightings)
            perceived = time.perf_counter()
            rng = random.Random(state.tick)
            submissions = [
                core_tick.Submission(agent_id, trivial_action(perception, rng), order)
                for order, (agent_id, perception) in enumerate(sorted(perceptions.items()))
            ]
            decided = time.perf_counter()
            core_tick.resolve(state, submissions)
            resolved = time.perf_counter()
            wake_ms.append((woke - started) * 1000)
            perceive_ms.append((perceived - woke) * 1000)
            resolve_ms.append((resolved - decided) * 1000)
            total_ms.append((resolved - started - (decided - perceived)) * 1000)
        median_total = statistics.median(total_ms)
        rows.append(
            {
                "agents": agents,
                "locations": locations,
                "ticks": ticks,
                "alive": state.population,
                "wake_ms": round(statistics.median(wake_ms), 2),
                "perceive_ms": round(statistics.median(perceive_ms), 2),
                "resolve_ms": round(statistics.median(resolve_ms), 2),
                "ticks_per_second": round(1000 / median_total, 1) if median_total else 0.0,
            }
        )
    return {
        "rows": rows,
        "targets": {"perceive_ms_at_1000": 50, "resolve_ms_at_1000": 100},
        # One-minute load average before and after: above ~0.5 before, something else was busy.
        "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cores": os.cpu_count() or 0,
    }


def render(figures: dict[str, Any]) -> str:
    """The figures as a markdown table."""
    lines = [
        "| agents | locations | wake ms (with the world copy) | perceive ms (all agents, with"
        " protobuf conversion) | resolve ms | engine ticks/s"
        " | alive after the last tick |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in figures["rows"]:
        lines.append(
            f"| {row['agents']} | {row['locations']} | {row['wake_ms']} | {row['perceive_ms']} "
            f"| {row['resolve_ms']} | {row['ticks_per_second']} | {row['alive']} |"
        )
    targets = figures["targets"]
    lines.append("")
    lines.append(
        f"Targets at 1 000 agents: perceive < {targets['perceive_ms_at_1000']} ms, "
        f"resolve < {targets['resolve_ms_at_1000']} ms. Medians over the measured ticks; "
        "a seeded trivial policy decides instantly. That policy drinks only where water is, so"
        " agents far from it die of thirst near the end of the measured ticks; the medians are"
        " taken while the whole population is alive."
    )
    load = figures.get("load")
    if load and load[0] >= 0.5:
        lines.append("")
        lines.append(
            f"The machine was not idle (1-minute load average {load[0]} before the run, "
            f"{load[1]} after it, on {figures.get('cores', '?')} cores; the bench itself adds "
            "about 1), so the figures are noisy."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(run_tick_bench()))
