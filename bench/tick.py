"""Tick benchmark: the engine's whole phase as a real tick pays it, without the decision wait or
the stores' writes: wake (with the world copy), perceive (the core perceptions), convert (to
protobuf, serialized as sent), resolve (the decisions read from protobuf and applied) and commit
(results, ledger entries, balance digest and events converted, each event serialized once, and
the ledger's own check of the entries).

A trivial seeded policy stands in for the brains (drink, eat, gather, rest, move at random), so the
figures measure the rules machine alone. Times are the process's CPU time (a shared machine's load
stretches wall time far more), medians over the measured ticks.
"""

from __future__ import annotations

import os
import random
import statistics
from typing import Any

from bench.engine_cost import PHASES, engine_tick, ledger_balances
from emergence.mesh.collector import tune_for_ticks
from emergence.v1 import action_pb2
from engine.adapters import convert
from engine.core.actions import Action
from engine.core.config import load_world_config
from engine.core.perception import Perception
from engine.core.state import WorldState
from engine.core.world import new_world
from ledger_service.core.book import Book

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


def trivial_decisions(
    state: WorldState, perceptions: dict[str, Perception]
) -> dict[str, action_pb2.Action]:
    """The trivial policy's actions, as a runner would send them."""
    rng = random.Random(state.tick)
    return {
        agent_id: convert.action_to_proto(agent_id, trivial_action(perception, rng))
        for agent_id, perception in sorted(perceptions.items())
    }


def run_tick_bench(
    agent_counts: tuple[int, ...] = (20, 100, 1000),
    locations: int = 200,
    ticks: int = 20,
    seed: int = 42,
) -> dict[str, Any]:
    """Median CPU milliseconds per phase and engine ticks per second, for each population size."""
    rows = []
    load_before = os.getloadavg()[0]
    config = load_world_config(None)
    tune_for_ticks()  # as the engine process collects garbage
    for agents in agent_counts:
        state, _, _ = new_world(
            config, seed=seed, agents=agents, map_name="generated", generated_locations=locations
        )
        book = Book(ledger_balances(state))
        results: dict[str, action_pb2.ActionResult] = {}
        spent: dict[str, list[float]] = {phase: [] for phase in PHASES}
        totals = []
        for _ in range(ticks):
            made = engine_tick(state, results, book, trivial_decisions)
            state, results = made.state, made.results
            for phase in PHASES:
                spent[phase].append(made.spent_ms[phase])
            totals.append(sum(made.spent_ms.values()))
        median_total = statistics.median(totals)
        row: dict[str, Any] = {"agents": agents, "locations": locations, "ticks": ticks}
        row["alive"] = state.population
        row.update({f"{phase}_ms": round(statistics.median(spent[phase]), 2) for phase in PHASES})
        row["engine_ms"] = round(median_total, 2)
        row["ticks_per_second"] = round(1000 / median_total, 1) if median_total else 0.0
        rows.append(row)
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
        "| agents | locations | wake ms (with the world copy) | perceive ms | convert ms (to"
        " protobuf, serialized) | resolve ms | commit ms (results, entries, digest, events,"
        " ledger check) | engine ms a tick | engine ticks/s | alive after the last tick |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in figures["rows"]:
        phases = " | ".join(str(row[f"{phase}_ms"]) for phase in PHASES)
        lines.append(
            f"| {row['agents']} | {row['locations']} | {phases} | {row['engine_ms']} "
            f"| {row['ticks_per_second']} | {row['alive']} |"
        )
    targets = figures["targets"]
    lines.append("")
    lines.append(
        f"Targets at 1 000 agents: perceive < {targets['perceive_ms_at_1000']} ms, "
        f"resolve < {targets['resolve_ms_at_1000']} ms. CPU time of the bench process, medians"
        " over the measured ticks; a seeded trivial policy decides instantly (not counted). That"
        " policy drinks only where water is, so agents far from it die of thirst near the end of"
        " the measured ticks; the medians are taken while the whole population is alive."
        " `python -m bench.engine_cost` times the same phases over the ticks of a heuristic run"
        " (a world with relationships, structures and groups)."
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
