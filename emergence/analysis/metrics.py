"""Comparing runs: each run's metrics (`history.comparison_metrics` over its stored history) side
by side, with the mean and 95 % confidence interval across runs (`stats.confidence_interval`).
Used by CompareRuns, RunBatch and `emergence compare|batch`."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from emergence.analysis.history import COMPARISON_METRICS, analyze, comparison_metrics
from emergence.analysis.load import load_history
from emergence.analysis.stats import Interval, confidence_interval

if TYPE_CHECKING:
    from engine.adapters.event_store import EventStore


@dataclass
class RunFigures:
    """What one run did: named numbers (NaN where a run has none, e.g. no first trade) and the
    first tick each item was discovered."""

    run_id: str
    seed: int
    ticks: int
    metrics: dict[str, float] = field(default_factory=dict)
    first_discovery_tick: dict[str, int] = field(default_factory=dict)


async def load_figures(store: EventStore, run_id: str) -> RunFigures:
    """The figures of one stored run (the same analysis as its report)."""
    analysis = analyze(await load_history(store, run_id))
    metrics = comparison_metrics(analysis)
    for construct in analysis.constructs:
        key = f"constructs.{construct.category.replace(' ', '_')}"
        metrics[key] = metrics.get(key, 0.0) + 1
    first: dict[str, int] = {}
    for discovery in sorted(analysis.discoveries, key=lambda d: d.tick):
        first.setdefault(discovery.item, discovery.tick)
    return RunFigures(run_id, analysis.seed, analysis.last_tick, metrics, first)


def metric_names(figures: Sequence[RunFigures]) -> list[str]:
    """Every metric any of the runs has: the common ones first, then the rest by name."""
    extra = sorted({name for f in figures for name in f.metrics} - set(COMPARISON_METRICS))
    return [*COMPARISON_METRICS, *extra]


@dataclass(frozen=True)
class Aggregate:
    metric: str
    interval: Interval
    stddev: float


def value(figures: RunFigures, metric: str) -> float:
    """A run's value of a metric; a count a run never saw (`deaths.<cause>`) is 0 there."""
    if metric in figures.metrics:
        return figures.metrics[metric]
    return 0.0 if metric.startswith(("deaths.", "constructs.")) else math.nan


def aggregates(figures: Sequence[RunFigures], names: Sequence[str]) -> list[Aggregate]:
    result = []
    for name in names:
        values = [value(f, name) for f in figures]
        finite = [v for v in values if math.isfinite(v)]
        stddev = statistics.stdev(finite) if len(finite) > 1 else 0.0
        result.append(Aggregate(name, confidence_interval(values), stddev))
    return result
