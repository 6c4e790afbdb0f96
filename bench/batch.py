"""`emergence bench batch`: the same seed batch one engine at a time, then two at once.

Each run is its own `emergence-engine` process started by an in-process control plane (as
`emergence batch` does); the wall time covers creating, running and comparing all of them. The
overlap count says how many pairs of runs were in progress at the same moment.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path
from typing import Any

from bench.report import table

SEEDS = "1..4"


def overlapping_pairs(periods: list[tuple[str, float, float]]) -> int:
    """Pairs of runs whose (started, ended) intervals intersect."""
    return sum(
        1 for (_, a0, a1), (_, b0, b1) in itertools.combinations(periods, 2) if a0 < b1 and b0 < a1
    )


async def run_batch_bench(arguments: argparse.Namespace, store_url: str | None) -> dict[str, Any]:
    from emergence.experiments.commands import batch

    figures: dict[str, Any] = {"seeds": SEEDS, "agents": arguments.agents, "ticks": arguments.ticks}
    with tempfile.TemporaryDirectory(prefix="emergence-bench-batch-") as folder:
        for parallel in (1, 2):
            options = argparse.Namespace(
                seeds=SEEDS,
                config=None,
                parallel=parallel,
                agents=arguments.agents,
                ticks=arguments.ticks,
                store=store_url or f"sqlite:///{Path(folder) / f'p{parallel}' / 'history.sqlite'}",
                out=folder,
                experiments=None,
                json=False,
            )
            result = await batch(options)
            figures[f"parallel_{parallel}"] = {
                "wall_seconds": result["wall_seconds"],
                "overlapping_pairs": overlapping_pairs(result["periods"]),
                "failed": len(result["failed"]),
            }
    serial, two = figures["parallel_1"]["wall_seconds"], figures["parallel_2"]["wall_seconds"]
    figures["speedup"] = round(serial / two, 2) if two else 0.0
    figures["store"] = "PostgreSQL" if store_url else "SQLite"
    return figures


def render(figures: dict[str, Any]) -> str:
    rows = [
        [
            f"--parallel {n}",
            f"{figures[f'parallel_{n}']['wall_seconds']:.1f}",
            figures[f"parallel_{n}"]["overlapping_pairs"],
            figures[f"parallel_{n}"]["failed"],
        ]
        for n in (1, 2)
    ]
    title = (
        f"`emergence bench batch --agents {figures['agents']} --ticks {figures['ticks']}`: "
        f"`emergence batch --seeds {SEEDS}` with one engine process at a time, then two at once "
        f"({figures['store']} store, heuristic brain, the control plane in-process). "
        f"Two at once took {figures['speedup']}× less wall time."
    )
    return (
        title
        + "\n\n"
        + table(["batch", "wall time (s)", "runs in progress together (pairs)", "failed"], rows)
    )
