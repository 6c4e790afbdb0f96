"""Test helper: one finished embedded run (heuristic brain, SQLite) to observe, made once per session."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class FinishedRun:
    run_id: str
    store_url: str
    ticks: int


def finished_run(folder: Path, *, agents: int = 8, ticks: int = 150, seed: int = 3) -> FinishedRun:
    """`emergence run` into `folder`; the summary's last line names the run and its store."""
    finished = subprocess.run(
        [sys.executable, "-m", "emergence.cli", "run", "--agents", str(agents), "--ticks",
         str(ticks), "--seed", str(seed), "--out", str(folder), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr[-2000:]
    summary = json.loads(finished.stdout.strip().splitlines()[-1])
    return FinishedRun(summary["run_id"], summary["store"], ticks)
