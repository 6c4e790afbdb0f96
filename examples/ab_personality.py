"""A/B of personality mixes: the same world and seeds with random vs balanced personalities.

Each arm is one seed batch (RunBatch, engines in parallel); CompareRuns gives every metric's mean
and 95 % confidence interval across the arm's seeds. A metric differs measurably when the two
intervals do not overlap; otherwise the table says the seeds cannot tell the arms apart.

    python examples/ab_personality.py --address 127.0.0.1:50055 --token "$OPERATOR_API_TOKEN" \
        --seeds 1..5 --agents 20 --ticks 1000
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
from collections.abc import Sequence

from emergence.client import batch, compare, v1

ARMS = ("random", "balanced")
METRICS = (
    "population_end",
    "survival_rate",
    "births",
    "deaths",
    "trades",
    "gini_mean",
    "discoveries",
    "constructs_formed",
    "thefts",
)


def seed_range(text: str) -> list[int]:
    """`1..5` or `1,2,7`."""
    if ".." in text:
        first, last = text.split("..", 1)
        return list(range(int(first), int(last) + 1))
    return [int(part) for part in text.split(",") if part.strip()]


def interval(aggregate: v1.MetricAggregate) -> str:
    return f"{aggregate.mean:9.3f} [{aggregate.ci95_low:8.3f}, {aggregate.ci95_high:8.3f}]"


def verdict(a: v1.MetricAggregate, b: v1.MetricAggregate) -> str:
    if a.runs < 2 or b.runs < 2:
        return "too few seeds"
    if a.ci95_high < b.ci95_low or b.ci95_high < a.ci95_low:
        return "differs"
    return "no clear difference"


def table(results: dict[str, dict[str, v1.MetricAggregate]], seeds: Sequence[int]) -> list[str]:
    header = f"{'metric':<16}" + "".join(f"{arm + ' mean [95% CI]':>34}" for arm in ARMS)
    lines = [
        f"personality mix A/B over seeds {', '.join(map(str, seeds))}",
        header + "  verdict",
        "-" * (len(header) + 22),
    ]
    for metric in METRICS:
        a, b = (results[arm][metric] for arm in ARMS)
        lines.append(f"{metric:<16}{interval(a):>34}{interval(b):>34}  {verdict(a, b)}")
    differing = sum(verdict(results[ARMS[0]][m], results[ARMS[1]][m]) == "differs" for m in METRICS)
    lines.append(
        f"{differing} of {len(METRICS)} metrics differ measurably between the mixes"
        if differing
        else "no metric differs measurably: these seeds cannot tell the mixes apart"
    )
    return lines


async def run_arm(arguments: argparse.Namespace, arm: str) -> dict[str, v1.MetricAggregate]:
    config = v1.RunConfig(
        name=f"ab-{arm}",
        agents=arguments.agents,
        personality_mode=arm,
        end=v1.EndConditions(max_ticks=arguments.ticks),
    )
    runs = await batch(
        arguments.address,
        config=config,
        seeds=arguments.seeds,
        parallel=arguments.parallel,
        token=arguments.token,
    )
    failed = [run.id for run in runs if run.status != v1.RunStatus.COMPLETED]
    if failed:
        raise SystemExit(f"runs did not complete: {failed}")
    compared = await compare(
        arguments.address, [run.id for run in runs], metrics=METRICS, token=arguments.token
    )
    return {aggregate.metric: aggregate for aggregate in compared.response.aggregates}


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1:50055", help="the Experiments service")
    parser.add_argument("--token", default=os.environ.get("OPERATOR_API_TOKEN", ""))
    parser.add_argument("--seeds", type=seed_range, default=seed_range("1..5"))
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--ticks", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=2, help="engines at once per arm")
    arguments = parser.parse_args(argv)
    results = {arm: await run_arm(arguments, arm) for arm in ARMS}
    print("\n".join(table(results, arguments.seeds)))
    return 0 if all(math.isfinite(a.mean) for r in results.values() for a in r.values()) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
