"""`emergence bench live`: how long a tick summary takes from its commit to the dashboard in a browser.

The mesh runs as processes behind Envoy (bench.mesh); headless Chromium opens the dashboard and
records, for every summary that arrives live over grpc-web, its receive time minus the summary's
`committed_at` (stamped by the engine just before the history transaction). One machine, one clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.mesh import ROOT, dashboard_mesh
from bench.report import table

SCRIPT = ROOT / "observer" / "e2e" / "latency.mjs"
TARGET_MS = 200.0


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of the values (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def measure(gateway_url: str, seconds: float) -> list[float]:
    process = await asyncio.create_subprocess_exec(
        "node", str(SCRIPT), gateway_url, str(seconds),
        cwd=ROOT / "observer",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    output, errors = await asyncio.wait_for(process.communicate(), timeout=seconds + 60)
    if process.returncode != 0:
        raise RuntimeError(f"the browser failed: {errors.decode(errors='replace')[-2000:]}")
    samples = json.loads(output.decode().strip().splitlines()[-1])["samples"]
    return [float(sample["latencyMs"]) for sample in samples]


async def run_live_bench(arguments: argparse.Namespace) -> dict[str, Any]:
    seconds = float(getattr(arguments, "seconds", 30))
    interval_ms = int(getattr(arguments, "tick_interval_ms", 100))
    with tempfile.TemporaryDirectory(prefix="emergence-live-") as folder:
        async with dashboard_mesh(
            Path(folder),
            agents=arguments.agents,
            seed=arguments.seed,
            tick_interval_ms=interval_ms,
        ) as mesh:
            latencies = await measure(mesh.gateway_url, seconds)
    return {
        "agents": arguments.agents,
        "tick_interval_ms": interval_ms,
        "seconds": seconds,
        "summaries": len(latencies),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "max_ms": round(max(latencies, default=0.0), 1),
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else 0.0,
        "target_ms": TARGET_MS,
    }


def render(figures: dict[str, Any]) -> str:
    met = "yes" if figures["summaries"] and figures["p95_ms"] < TARGET_MS else "**no**"
    rows = [
        ["tick summaries received live", figures["summaries"]],
        ["p50 (ms)", figures["p50_ms"]],
        ["p95 (ms)", f"{figures['p95_ms']} (target < {TARGET_MS:.0f}: {met})"],
        ["max / mean (ms)", f"{figures['max_ms']} / {figures['mean_ms']}"],
    ]
    title = (
        f"`emergence bench live --agents {figures['agents']}`: the mesh as processes "
        f"(NATS, ledger, engine, observer, runner over SQLite) behind Envoy, one tick every "
        f"{figures['tick_interval_ms']} ms, the dashboard open in headless Chromium for "
        f"{figures['seconds']:.0f} s. Latency = the browser's receive time of a tick summary "
        "(StreamTicks over grpc-web) minus its `committed_at`, which the engine stamps just "
        "before the history transaction; so it includes the store write, the NATS wake-up, "
        "the observer's read, Envoy and the browser."
    )
    return title + "\n\n" + table(["figure", "value"], rows)
