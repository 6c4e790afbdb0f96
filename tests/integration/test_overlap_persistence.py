"""Persisting a tick while the next one wakes and perceives (ADR 0020) is a way of running the
engine, not part of the run: the same run with the overlap on and off has the same history."""

from __future__ import annotations

from pathlib import Path

import pytest

from emergence.embedded import embedded_run
from emergence.mesh.settings import load_settings
from emergence.v1 import run_pb2
from engine.app import _options


def test_the_overlap_is_on_unless_the_engine_is_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EMERGENCE_OVERLAP_PERSISTENCE", raising=False)
    assert _options(run_pb2.RunConfig()).overlap_persistence
    monkeypatch.setenv("EMERGENCE_OVERLAP_PERSISTENCE", "0")
    assert not _options(run_pb2.RunConfig()).overlap_persistence


async def test_the_overlap_changes_no_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashes = {}
    for overlap in ("1", "0"):
        monkeypatch.setenv("EMERGENCE_OVERLAP_PERSISTENCE", overlap)
        settings = load_settings(
            environ={},
            overrides={
                "run.agents": 8,
                "run.ticks": 15,
                "run.seed": 7,
                "run.snapshot_every_ticks": 5,
                "run.out": str(tmp_path / overlap),
            },
        )
        summary = await embedded_run(settings, progress=False)
        assert summary.ticks == 15 and summary.ledger_verified
        hashes[overlap] = summary.history_hash
    assert hashes["1"] == hashes["0"]
