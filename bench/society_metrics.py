"""`emergence bench society`: the society metrics (emergence/analysis/society.py) over many seeds,
each run read back from its stored history, with the mean and 95 % interval across seeds."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.emergence import TARGETS as MILESTONES
from bench.emergence import SocietyCounts, count_society
from emergence.analysis.load import society_metrics_of_stored_run
from emergence.analysis.stats import confidence_interval

# Targets on the mean over seeds: (metric, comparison, threshold, (agents, ticks) of the runs
# they are set for); on runs of another size a target is shown but not judged.
SHORT, LONG = (20, 2000), (20, 5000)
# The heuristic mind's mean specialization over seeds 1–10 before the general-mind work (the
# baseline section of docs/benchmarks.md); the target is four times it.
BASELINE_SPECIALIZATION = 0.292
TARGETS: tuple[tuple[str, str, float, tuple[int, int]], ...] = (
    ("action_types_chosen", ">=", 34, SHORT),
    ("occupations_shared", ">=", 3, SHORT),
    ("specialization", ">=", round(4 * BASELINE_SPECIALIZATION, 3), SHORT),
    ("busiest_place_share", "<=", 0.5, SHORT),
    ("lasting_settlements", ">=", 3, SHORT),
    ("durable_standing_used", ">=", 10, SHORT),
    ("trade_net_share", ">=", 0.6, SHORT),
    ("trades_in_free_goods_share", "<=", 0.2, SHORT),
    ("social_spread_share", ">=", 0.5, SHORT),
    ("laws_contested", ">=", 1, SHORT),
    ("group_size_max", ">=", 6, SHORT),
    ("population_min", ">=", 10, LONG),
    ("population_end", ">=", 15, LONG),
)


class RunFailed(RuntimeError):
    """An `emergence run` of one seed ended without a summary."""


@dataclass(frozen=True)
class StoredRun:
    seed: int
    run_id: str
    store: str
    history_hash: str
    wall_seconds: float
    agents: int


async def run_seed(arguments: argparse.Namespace, seed: int, out: str) -> StoredRun:
    """One run as its own `emergence run` process (two can then use two cores)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "emergence.cli", "run", "--agents", str(arguments.agents),
        "--ticks", str(arguments.ticks), "--seed", str(seed), "--brain", arguments.brain,
        "--out", out, "--quiet", "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        stdout, stderr = await process.communicate()
    except asyncio.CancelledError:  # another seed failed: no run is left behind
        process.kill()
        await process.wait()
        raise
    lines = stdout.decode(errors="replace").strip().splitlines()
    if process.returncode != 0 or not lines:
        tail = stderr.decode(errors="replace").strip()[-400:]
        raise RunFailed(f"the run of seed {seed} failed (exit {process.returncode}): {tail}")
    summary = json.loads(lines[-1])
    return StoredRun(
        seed,
        summary["run_id"],
        summary["store"],
        summary["history_hash"],
        float(summary["wall_seconds"]),
        arguments.agents,
    )


async def run_seeds(arguments: argparse.Namespace, seeds: list[int]) -> list[StoredRun]:
    limit = asyncio.Semaphore(max(1, arguments.parallel))
    out = getattr(arguments, "out", None) or "runs"

    async def one(seed: int) -> StoredRun:
        async with limit:
            return await run_seed(arguments, seed, out)

    tasks = [asyncio.ensure_future(one(seed)) for seed in seeds]
    try:
        return list(await asyncio.gather(*tasks))
    except RunFailed as failure:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise SystemExit(str(failure)) from None


def stored_runs(folder: str) -> list[StoredRun]:
    """Every run folder under `folder` (a history.sqlite each), as `emergence run` left them."""
    import sqlite3

    from emergence.v1 import run_pb2

    found = []
    for history in sorted(Path(folder).glob("*/history.sqlite")):
        connection = sqlite3.connect(f"file:{history}?mode=ro", uri=True)
        try:
            rows = connection.execute("SELECT payload FROM runs").fetchall()
        finally:
            connection.close()
        for (payload,) in rows:
            run = run_pb2.Run.FromString(payload)
            found.append(
                StoredRun(
                    run.config.seed, run.id, f"sqlite:///{history}", "", math.nan, run.config.agents
                )
            )
    return sorted(found, key=lambda run: run.seed)


def met(metric: str, mean: float, size: tuple[int, int] | None) -> str:
    for name, comparison, threshold, scale in TARGETS:
        if name == metric:
            if size != scale:
                return "not judged (other run size)"
            ok = mean >= threshold if comparison == ">=" else mean <= threshold
            return "met" if math.isfinite(mean) and ok else "**not met**"
    return ""


def target_text(metric: str) -> str:
    for name, comparison, threshold, scale in TARGETS:
        if name == metric:
            agents, ticks = scale
            return f"{'≥' if comparison == '>=' else '≤'} {threshold:g} ({agents} × {ticks:,})".replace(
                ",", " "
            )
    return "–"


def section_slug(label: str, limit: int = 40) -> str:
    """`Baseline: the heuristic mind …` → `baseline-the-heuristic-mind…`, cut at a word."""
    slug = "-".join("".join(c if c.isalnum() else " " for c in label.lower()).split())
    return slug if len(slug) <= limit else slug[:limit].rsplit("-", 1)[0]


def value_of(metrics: dict[str, float], name: str) -> float:
    """A run's value; a death cause, season or discovery method a run never saw is 0 there."""
    if name in metrics:
        return metrics[name]
    return 0.0 if name.startswith(("deaths.", "discoveries.")) else math.nan


def aggregate(per_run: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    # In the order the analysis gives them (deaths by cause and season gathered from every run).
    names = list(dict.fromkeys(name for metrics in per_run for name in metrics))
    result = {}
    for name in names:
        values = [value_of(metrics, name) for metrics in per_run]
        result[name] = confidence_interval(values).as_dict()
    return result


def _number(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def render(arguments: argparse.Namespace, figures: dict[str, Any]) -> str:
    runs = figures["runs"]
    load = figures.get("load_average", [])
    sizes = {(run["agents"], int(run["metrics"].get("ticks", 0))) for run in runs}
    size = sizes.pop() if len(sizes) == 1 else None
    rows: list[list[object]] = []
    for name, interval in figures["aggregate"].items():
        mean, low, high = interval["mean"], interval["low"], interval["high"]
        values = ", ".join(_number(value_of(run["metrics"], name)) for run in runs)
        rows.append(
            [
                f"`{name}`",
                _number(mean),
                f"{_number(low)} – {_number(high)}",
                values,
                target_text(name),
                met(name, mean, size),
            ]
        )
    from bench.report import table

    seeds = ", ".join(str(run["seed"]) for run in runs)
    agents = "/".join(sorted({str(run["agents"]) for run in runs}))
    ticks = "/".join(sorted({_number(run["metrics"].get("ticks", math.nan)) for run in runs}))
    complete = sum(1 for run in runs if run["milestones_met"] == len(MILESTONES))
    label = getattr(arguments, "label", None) or ""
    title = (
        (f"**{label[:200]}**: " if label else "")
        + f"`emergence bench society` on runs of {agents} agents × {ticks} ticks, brain "
        f"{arguments.brain}, over {len(runs)} seeds ({seeds}); every figure is read back "
        "from the stored history (definitions: `emergence/analysis/society.py`). Load average "
        f"while measuring: {' / '.join(f'{value:.1f}' for value in load) or 'unknown'}."
    )
    note = (
        f"Seeds meeting every target of the milestone benchmark (`bench emergence`, "
        f"{len(MILESTONES)} counts): {complete} of {len(runs)} "
        f"({', '.join(str(run['milestones_met']) for run in runs)} met per seed)."
    )
    if figures.get("note"):
        note = figures["note"] + "\n\n" + note
    body = table(["metric", "mean", "95 % interval", "per seed", "target", "on the mean"], rows)
    return title + ("\n\n" + note if note else "") + "\n\n" + body


async def run_society_bench(arguments: argparse.Namespace) -> dict[str, Any]:
    if getattr(arguments, "from_runs", None):
        runs = stored_runs(arguments.from_runs)
        if not runs:
            raise SystemExit(f"no stored runs under {arguments.from_runs[:200]}")
    else:
        seeds = list(range(arguments.seed, arguments.seed + max(1, arguments.seeds)))
        runs = await run_seeds(arguments, seeds)
    per_run: list[dict[str, Any]] = []
    for run in runs:
        metrics = await society_metrics_of_stored_run(run.store, run.run_id)
        milestones = SocietyCounts(await count_society(run.store, run.run_id)).meets()
        per_run.append(
            {
                "seed": run.seed,
                "agents": run.agents,
                "milestones_met": sum(milestones.values()),
                "milestones_missed": sorted(name for name, ok in milestones.items() if not ok),
                "run_id": run.run_id,
                "history_hash": run.history_hash,
                "wall_seconds": run.wall_seconds,
                "metrics": metrics,
            }
        )
    return {
        "runs": per_run,
        "aggregate": aggregate([run["metrics"] for run in per_run]),
        "load_average": list(os.getloadavg()),
    }
