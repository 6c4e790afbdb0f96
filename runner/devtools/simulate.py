"""Run the engine core with the runner's decision pipeline in one process, without gRPC, and count
the society's milestones (for tuning the heuristic brain quickly).

    python -m runner.devtools.simulate --agents 20 --ticks 2000 --seed 42
    python -m runner.devtools.simulate --agents 1000 --ticks 300 --map generated --population

The population figures (`--population`) are the society benchmark's own (`population_min`,
`alive_share_at_300`, `die_off_50`, from emergence/analysis/society.py), over the alive count
after every tick, so a long or crowded run can be judged in minutes before it is stored.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from emergence.analysis.society import SocietyHistory
from emergence.analysis.society import population as population_figures
from engine.adapters.convert import perception_to_proto, result_to_proto, submission_from_proto
from engine.core import tick
from engine.core.config import load_world_config
from engine.core.events import DomainEvent
from engine.core.state import WorldState
from engine.core.world import new_world
from runner.core.heuristic import HeuristicBrain
from runner.core.memory import AgentMemory, observe, reflect
from runner.core.routing import RouteCounters, RunnerConfig, decide_without_model

TARGETS = {
    "alive_at_1000": 10, "alive_at_end": 10, "trades_completed": 100, "structures_built": 15,
    "starting_regions_visited": 3, "hidden_locations_visited": 1, "teachings": 10,
    "discoveries": 3, "groups_formed": 2, "births": 3, "thefts": 1, "prayers": 1,
}  # fmt: skip
NOT_DISCOVERY = {
    "DISCOVERY_METHOD_SEED",
    "DISCOVERY_METHOD_TEACHING",
    "DISCOVERY_METHOD_INHERITANCE",
}


@dataclass
class SocietyCounts:
    values: Counter[str] = field(default_factory=Counter)
    visited: set[str] = field(default_factory=set)
    actions: Counter[str] = field(default_factory=Counter)
    rejections: Counter[str] = field(default_factory=Counter)
    deaths: Counter[str] = field(default_factory=Counter)
    # Alive after each tick (index 0: tick 0), and deaths by cause and season.
    alive: list[int] = field(default_factory=list)
    deaths_by_season: Counter[str] = field(default_factory=Counter)

    def take(self, events: list[DomainEvent]) -> None:
        kinds = {
            "TRADE_COMPLETED": "trades_completed", "STRUCTURE_BUILT": "structures_built",
            "GROUP_FORMED": "groups_formed", "THEFT_OCCURRED": "thefts", "PRAYER": "prayers",
            "MESSAGE_SENT": "messages", "COMBAT_RESOLVED": "fights",
        }  # fmt: skip
        for event in events:
            if event.type in kinds:
                self.values[kinds[event.type]] += 1
            elif event.type == "KNOWLEDGE_TAUGHT" and event.details.get("success"):
                self.values["teachings"] += 1
            elif event.type == "KNOWLEDGE_DISCOVERED":
                if event.details.get("method") not in NOT_DISCOVERY:
                    self.values["discoveries"] += 1
            elif event.type == "AGENT_BORN" and event.details.get("origin") == "birth":
                self.values["births"] += 1
            elif event.type == "AGENT_DIED":
                self.values["deaths"] += 1
                self.deaths[str(event.details.get("cause", "?"))] += 1
            if event.location_id and event.agent_id:
                self.visited.add(event.location_id)

    def finish(self, state: WorldState) -> dict[str, int]:
        regions = {
            state.locations[lid].region
            for lid in self.visited
            if lid in state.locations and not state.locations[lid].hidden
        }
        hidden = {
            lid for lid in self.visited if lid in state.locations and state.locations[lid].hidden
        }
        self.values["starting_regions_visited"] = len(regions)
        self.values["hidden_locations_visited"] = len(hidden)
        return dict(sorted(self.values.items()))


Decide = Callable[..., object]


def population_of(counts: SocietyCounts) -> dict[str, float]:
    """The benchmark's population figures over the alive count of every tick."""
    history = SocietyHistory(events=(), decisions=(), population=counts.alive, last_tick=0)
    figures = population_figures(history)
    return {key: round(value, 3) for key, value in figures.items()}


def simulate(
    agents: int = 20,
    ticks: int = 2000,
    seed: int = 42,
    config: RunnerConfig | None = None,
    *,
    map_name: str = "default",
    locations: int = 0,
    progress: bool = False,
) -> tuple[dict[str, int], SocietyCounts, RouteCounters]:
    """Run `ticks` ticks of the world; returns the counts, details and route counters."""
    state, born, _ = new_world(
        load_world_config(None),
        seed=seed,
        agents=agents,
        map_name=map_name,
        generated_locations=locations,
    )
    brain = HeuristicBrain(seed)
    settings = config or RunnerConfig()
    counters = RouteCounters()
    memories: dict[str, AgentMemory] = {}
    counts = SocietyCounts()
    counts.take(born)
    counts.alive.append(len(state.living_agent_ids()))
    for _ in range(ticks):
        woke = tick.wake(state)
        perceptions = tick.perceive(state)
        submissions = []
        for order, agent_id in enumerate(sorted(perceptions)):
            proto = perception_to_proto(perceptions[agent_id])
            memory = memories.setdefault(agent_id, AgentMemory(agent_id))
            observe(memory, proto)
            decision = decide_without_model(proto, memory, brain, settings, counters)
            counts.actions[decision.action.WhichOneof("params") or "none"] += 1
            submissions.append(submission_from_proto(agent_id, decision.action, order))
        resolved = tick.resolve(state, submissions)
        for agent_id, result in sorted(resolved.results.items()):
            if agent_id in memories:
                message = result_to_proto(result)
                if not message.success:
                    counts.rejections[f"{result.action_type}:{message.rejection.message[:50]}"] += 1
                reflect(memories[agent_id], message)
        counts.take([*woke.events, *resolved.events])
        alive = len(state.living_agent_ids())
        counts.alive.append(alive)
        died = sum(1 for e in [*woke.events, *resolved.events] if e.type == "AGENT_DIED")
        counts.deaths_by_season[state.season] += died
        if progress and state.tick % 50 == 0:
            causes = dict(counts.deaths.most_common())
            print(f"tick {state.tick} {state.season}: {alive} alive {causes}", file=sys.stderr)
        if state.tick == 1000:
            counts.values["alive_at_1000"] = alive
        counts.values["alive_at_end"] = alive
    return counts.finish(state), counts, counters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--ticks", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--map", default="default", help="'default', 'generated' or a world file")
    parser.add_argument("--locations", type=int, default=0, help="locations of a generated map")
    parser.add_argument("--details", action="store_true", help="also print actions and rejections")
    parser.add_argument(
        "--population", action="store_true", help="also print the population figures and curve"
    )
    parser.add_argument(
        "--progress", action="store_true", help="the living and deaths every 50 ticks, on stderr"
    )
    arguments = parser.parse_args(argv)
    started = time.perf_counter()
    values, counts, counters = simulate(
        arguments.agents,
        arguments.ticks,
        arguments.seed,
        map_name=arguments.map,
        locations=arguments.locations,
        progress=arguments.progress,
    )
    elapsed = time.perf_counter() - started
    missed = {
        key: values.get(key, 0) for key, target in TARGETS.items() if values.get(key, 0) < target
    }
    report: dict[str, object] = {"counts": values, "missed": missed, "seconds": round(elapsed, 1)}
    if arguments.population:
        report["population"] = population_of(counts)
        report["alive_every_50"] = counts.alive[::50]
        report["deaths_by_season"] = dict(counts.deaths_by_season)
    print(json.dumps(report, indent=1))
    if arguments.details:
        print("actions", counts.actions.most_common())
        print("rejections", counts.rejections.most_common(25))
        print("deaths", counts.deaths.most_common())
        print("routes", dict(counters.by_route))
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
