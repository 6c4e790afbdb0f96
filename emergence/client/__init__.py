"""The researcher SDK: betterproto2 types and async stubs for the public API, plus `Experiment`.

    from emergence.client import Experiment, plague

    async with Experiment.create("127.0.0.1:50055", agents=10, seed=3, token=TOKEN) as run:
        await run.step(100)
        fork = await run.fork(at_tick=50, inject=[plague("river")])
        frame = await run.series("population.alive", "gini")   # pandas when installed

The generated messages live in `emergence.client.pb.emergence.v1` (re-exported as
`emergence.client.v1`); they need the `client` extra: `pip install 'emergence[client]'`.
"""

from __future__ import annotations

from emergence.client.experiment import (
    Experiment,
    ExperimentError,
    batch,
    compare,
    metrics_table,
    plague,
    series_table,
)
from emergence.client.pb.emergence import v1

__all__ = [
    "Experiment",
    "ExperimentError",
    "batch",
    "compare",
    "metrics_table",
    "plague",
    "series_table",
    "v1",
]
