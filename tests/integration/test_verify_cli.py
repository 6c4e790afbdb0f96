"""`emergence verify` pointed at a ledger store without the run: a failed check, not a traceback."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from emergence.embedded import embedded_run
from emergence.mesh.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_verify_with_the_wrong_ledger_store_names_it_and_exits_1(tmp_path: Path) -> None:
    overrides = {"run.agents": 4, "run.ticks": 5, "run.seed": 3, "run.out": str(tmp_path)}
    summary = asyncio.run(
        embedded_run(load_settings(environ={}, overrides=overrides), progress=False)
    )
    verify = [
        sys.executable,
        "-m",
        "emergence.cli",
        "verify",
        summary.run_id,
        "--out",
        str(tmp_path),
    ]

    right = subprocess.run(verify, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert right.returncode == 0, right.stdout + right.stderr

    wrong_ledger = f"sqlite:///{tmp_path / 'other-ledger.sqlite'}"
    wrong = subprocess.run(
        [*verify, "--ledger-store", wrong_ledger],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = wrong.stdout + wrong.stderr
    assert wrong.returncode == 1, output
    assert "Traceback" not in output
    assert "FAIL the ledger store holds the run" in output
    assert "other-ledger.sqlite" in output and "no committed ticks" in output
