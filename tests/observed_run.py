"""Test helper: one finished embedded run (heuristic brain, SQLite) to observe, made once per session."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class FinishedRun:
    run_id: str
    store_url: str
    ticks: int


def finished_run(
    folder: Path, *, agents: int = 8, ticks: int = 150, seed: int = 3, database_url: str = ""
) -> FinishedRun:
    """`emergence run` into `folder` (or into `database_url`); the summary names the run and store."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DRAGONFLY_URL", "NATS_URL"}
    }
    if database_url:
        environment["DATABASE_URL"] = database_url
    finished = subprocess.run(
        [sys.executable, "-m", "emergence.cli", "run", "--agents", str(agents), "--ticks",
         str(ticks), "--seed", str(seed), "--out", str(folder), "--json"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr[-2000:]
    summary = json.loads(finished.stdout.strip().splitlines()[-1])
    return FinishedRun(summary["run_id"], summary["store"], ticks)


@contextlib.asynccontextmanager
async def heuristic_runner(
    engine_address: str, status_address: str | None = None
) -> AsyncIterator[None]:
    """One heuristic runner connected to the engine for the duration (ticks wait for runners)."""
    from runner.app import run_runner

    stop = asyncio.Event()
    task = asyncio.create_task(
        run_runner(
            engine_address,
            runner_id="observer-test",
            stop_event=stop,
            status_address=status_address,
        )
    )
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 10)
