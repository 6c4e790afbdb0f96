"""A store handed over with pickled snapshots cannot run code through verify, replay or resume:
each refuses the snapshot with a message saying what to do, and the planted code never runs."""

from __future__ import annotations

import os
import pickle
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from emergence.embedded import embedded_run
from emergence.mesh.errors import FailedPrecondition
from emergence.mesh.settings import load_settings
from emergence.v1 import run_pb2
from engine.app import create_engine
from ledger_service.app import create_ledger_server

ROOT = Path(__file__).resolve().parents[2]


class Planted:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _emergence(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emergence.cli", *arguments],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_pickled_snapshots_in_a_store_never_run(tmp_path: Path) -> None:
    settings = load_settings(
        environ={}, overrides={"run.agents": 4, "run.ticks": 12, "run.out": str(tmp_path)}
    )
    summary = await embedded_run(settings, progress=False)
    history = Path(summary.out_dir) / "history.sqlite"
    marker = tmp_path / "code-ran"
    poison = zlib.compress(pickle.dumps(Planted(marker)), 3)
    with sqlite3.connect(history) as db:
        assert db.execute("UPDATE snapshots SET payload = ?", (poison,)).rowcount >= 2
        # The run looks unfinished, so an engine would try to resume it.
        (payload,) = db.execute("SELECT payload FROM runs").fetchone()
        run = run_pb2.Run.FromString(payload)
        run.status = run_pb2.RUN_STATUS_RUNNING
        db.execute("UPDATE runs SET payload = ?", (run.SerializeToString(),))

    verify = _emergence("verify", summary.run_id, "--out", str(tmp_path))
    assert verify.returncode == 1, verify.stdout + verify.stderr
    assert "old pickled format" in verify.stdout and "re-run the experiment" in verify.stdout

    replay = _emergence("replay", summary.run_id, "--out", str(tmp_path / "replays"),
                        "--store", f"sqlite:///{history}")  # fmt: skip
    assert replay.returncode != 0 and "old pickled format" in replay.stderr, replay.stderr
    assert "Traceback" not in replay.stderr

    ledger = await create_ledger_server("127.0.0.1:0", f"sqlite:///{tmp_path / 'l.sqlite'}")
    try:
        with pytest.raises(FailedPrecondition, match="old pickled format"):
            await create_engine(
                settings,
                ledger_address=ledger.address,
                store_url=f"sqlite:///{history}",
                resume_run_id=summary.run_id,
            )
    finally:
        await ledger.close()
    assert not marker.exists()
