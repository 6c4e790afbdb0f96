"""`emergence bench society` end to end: two tiny runs at once, measured from their stored
histories, figures printed as JSON with the mean and 95 % interval across the seeds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emergence.analysis.society import ACTION_TYPE_COUNT


def test_bench_society_measures_each_seed_from_its_stored_history(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "emergence.cli", "bench", "society", "--agents", "8",
        "--ticks", "60", "--seed", "5", "--seeds", "2", "--parallel", "2",
        "--out", str(tmp_path / "runs"), "--json", "--no-write",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])

    runs = figures["runs"]
    assert [run["seed"] for run in runs] == [5, 6]
    assert len({run["run_id"] for run in runs}) == 2
    assert all(len(run["history_hash"]) == 64 for run in runs)
    for run in runs:
        metrics = run["metrics"]
        assert 1 <= metrics["action_types_chosen"] <= ACTION_TYPE_COUNT
        assert 0 < metrics["busiest_place_share"] <= 1
        assert 0 <= metrics["specialization"] <= 1
        assert metrics["population_end"] >= 1
        assert metrics["ticks"] == 60
        assert 0 <= run["milestones_met"] <= 12
    aggregate = figures["aggregate"]
    for name in ("action_types_chosen", "specialization", "busiest_place_share", "population_min"):
        interval = aggregate[name]
        assert interval["n"] == 2
        assert interval["low"] <= interval["mean"] <= interval["high"]
        values = [run["metrics"][name] for run in runs]
        assert interval["mean"] == sum(values) / 2
    # The runs stay where they were told to go, so every figure can be traced back.
    assert len(list((tmp_path / "runs").glob("*/history.sqlite"))) == 2
    again = subprocess.run(
        [sys.executable, "-m", "emergence.cli", "bench", "society", "--from-runs",
         str(tmp_path / "runs"), "--json", "--no-write"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
    measured_again = json.loads(again.stdout.strip().splitlines()[-1])
    # The same figures (compared as JSON text: a run without trades has NaN shares).
    assert json.dumps([run["metrics"] for run in measured_again["runs"]], sort_keys=True) == (
        json.dumps([run["metrics"] for run in runs], sort_keys=True)
    )


def test_bench_society_on_a_folder_without_runs_says_so(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "emergence.cli", "bench", "society", "--from-runs",
               str(tmp_path / "nothing"), "--json", "--no-write"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert "no stored runs under" in done.stderr and "Traceback" not in done.stderr


def test_bench_society_with_a_run_that_cannot_start_says_which_seed(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "emergence.cli", "bench", "society", "--agents", "-3",
        "--ticks", "10", "--seeds", "2", "--parallel", "2", "--out", str(tmp_path),
        "--json", "--no-write",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert "the run of seed 42 failed" in done.stderr or "the run of seed 43 failed" in done.stderr
    assert "must not be negative" in done.stderr and "Traceback" not in done.stderr


def test_bench_society_puts_the_hybrid_brain_beside_the_heuristic(tmp_path: Path) -> None:
    """Each hybrid run gets its own stub model process, answering with the heuristic or at
    random; progress goes to stderr and the runs of each column to their own folder."""
    out = tmp_path / "runs"
    command = [
        sys.executable, "-m", "emergence.cli", "bench", "society", "--brain", "hybrid",
        "--stub-policy", "heuristic,random", "--agents", "6", "--ticks", "30", "--seed", "3",
        "--seeds", "1", "--out", str(out), "--json", "--no-write",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    columns = figures["columns"]
    assert list(columns) == ["heuristic", "hybrid-stub-heuristic", "hybrid-stub-random"]
    assert "decisions" not in columns["heuristic"]
    for name in ("hybrid-stub-heuristic", "hybrid-stub-random"):
        decisions = columns[name]["decisions"]
        assert decisions["model_answered"] > 0 and decisions["fallbacks"] == 0
        assert columns[name]["runs"][0]["metrics"]["ticks"] == 30
        assert len(list((out / name).glob("*/history.sqlite"))) == 1
    assert "hybrid-stub-random seed 3: started" in done.stderr
    assert "hybrid-stub-random seed 3: [" in done.stderr  # the run's own progress line

    from bench.society_metrics import render_side_by_side

    class Arguments:
        brain, label, until_tick = "hybrid", "", None

    markdown = render_side_by_side(Arguments(), figures)  # type: ignore[arg-type]
    assert "answering with the heuristic" in markdown and "measures the plumbing" in markdown
    assert "| decisions the model answered | none (no model) |" in markdown


def test_bench_society_measures_the_other_seeds_when_one_run_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seed 8's run is killed (SIGKILL, as an operator or the OOM killer would): it is reported
    as failed with its seed named, and seed 9's run is still measured and rendered."""
    import argparse
    import asyncio

    from bench import society_metrics

    real_command = society_metrics.run_command

    def command(arguments: argparse.Namespace, column: object, seed: int, out: str) -> list[str]:
        if seed == 8:
            return [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]
        return real_command(arguments, column, seed, out)  # type: ignore[arg-type]

    monkeypatch.setattr(society_metrics, "run_command", command)
    arguments = argparse.Namespace(
        agents=4, ticks=20, seed=8, seeds=2, parallel=2, brain="heuristic",
        out=str(tmp_path / "runs"), json=True, label="", until_tick=None, note=None,
    )  # fmt: skip
    figures = asyncio.run(society_metrics.run_society_bench(arguments))

    assert [run["seed"] for run in figures["runs"]] == [9]
    assert figures["runs"][0]["metrics"]["ticks"] == 20
    assert figures["aggregate"]["population_end"]["n"] == 1
    [failed] = figures["failed"]
    assert failed["seed"] == 8 and "the run of seed 8 failed (exit -9)" in failed["reason"]
    markdown = society_metrics.render(arguments, figures)
    assert "over 1 seed (9)" in markdown
    assert "Failed, not measured (1 run):** seed 8:" in markdown
