"""A plague injected into a fork of a run at tick 500, against the same run left alone.

The fork starts from the parent's exact state at the fork tick, so up to there both share one
history; after it the only difference is the plague. Both end at the same tick and CompareRuns
puts their metrics side by side.

    python examples/plague_fork.py --address 127.0.0.1:50055 --token "$OPERATOR_API_TOKEN"
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from emergence.client import Experiment, plague, v1

# End-state metrics from CompareRuns; the counts after the fork come from the tick summaries each
# StepRun returned (a fork's own history starts at the fork tick, the parent's at 0).
METRICS = ("population_end", "gini_end")


def after(summaries: list[v1.TickSummary], tick: int) -> dict[str, float]:
    later = [summary for summary in summaries if summary.tick > tick]
    return {
        "deaths after fork": float(sum(summary.deaths for summary in later)),
        "births after fork": float(sum(summary.births for summary in later)),
        "lowest population": float(min((summary.alive for summary in later), default=0)),
        "trades after fork": float(sum(summary.trades for summary in later)),
    }


def population_by_tick(summaries: list[v1.TickSummary], every: int, until: int) -> dict[int, int]:
    """Alive every `every` ticks; after a run's last tick (extinction) its last count holds."""
    alive = {summary.tick: summary.alive for summary in summaries}
    shown, current = {}, summaries[0].alive if summaries else 0
    for tick in range(summaries[0].tick if summaries else 0, until + 1):
        current = alive.get(tick, current)
        if tick % every == 0:
            shown[tick] = current
    return shown


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1:50055", help="the Experiments service")
    parser.add_argument("--token", default=os.environ.get("OPERATOR_API_TOKEN", ""))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--ticks", type=int, default=1000)
    parser.add_argument("--fork-at", type=int, default=500)
    parser.add_argument("--region", default="Central Valley", help="where the plague breaks out")
    parser.add_argument("--plague-ticks", type=int, default=200, help="how long it lasts")
    arguments = parser.parse_args(argv)
    if not 0 < arguments.fork_at < arguments.ticks:
        parser.error("--fork-at must lie between 0 and --ticks")

    async with Experiment.create(
        arguments.address,
        seed=arguments.seed,
        agents=arguments.agents,
        ticks=arguments.ticks,
        name="plague-baseline",
        token=arguments.token,
    ) as baseline:
        unforked = await baseline.step(arguments.ticks)
        outbreak = plague(arguments.region, arguments.plague_ticks)
        forked = await baseline.fork(arguments.fork_at, inject=[outbreak])
        with_plague = await forked.step(arguments.ticks - arguments.fork_at)
        compared = await baseline.compare(forked, metrics=METRICS, frame=False)

    by_run = {row["run_id"]: row for row in compared.runs}
    rows = {
        metric: (by_run[baseline.run_id][metric], by_run[forked.run_id][metric])
        for metric in METRICS
    }
    fork_tick = arguments.fork_at
    for name, value in after(unforked, fork_tick).items():
        rows[name] = (value, after(with_plague, fork_tick)[name])
    print(
        f"plague in {arguments.region} for {arguments.plague_ticks} ticks, injected into a fork"
        f" at tick {fork_tick} of run {baseline.run_id} (seed {arguments.seed},"
        f" {arguments.agents} agents, {arguments.ticks} ticks)"
    )
    print(f"{'metric':<20}{'unforked':>12}{'plague fork':>14}{'difference':>12}")
    for metric, (a, b) in rows.items():
        print(f"{metric:<20}{a:>12.3f}{b:>14.3f}{b - a:>+12.3f}")
    every = max(1, arguments.ticks // 10)
    alive_a = population_by_tick(unforked, every, arguments.ticks)
    alive_b = {**alive_a, **population_by_tick(with_plague, every, arguments.ticks)}
    ended = with_plague[-1].tick if with_plague else fork_tick
    print(
        "alive by tick (unforked/plague fork): "
        + "  ".join(f"{tick}:{alive_a[tick]}/{alive_b[tick]}" for tick in sorted(alive_a))
    )
    if ended < arguments.ticks:
        print(f"the plague fork ended at tick {ended}: {forked.run.end_reason.name.lower()}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
