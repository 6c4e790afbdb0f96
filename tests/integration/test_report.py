"""Run reports from a real stored run: written by `emergence run` and `emergence report`, drawn by Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAYWRIGHT_CORE = ROOT / "examples" / "node" / "node_modules" / "playwright-core"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHECK_CHARTS = Path(__file__).parent / "browser" / "check_charts.mjs"
SCREENSHOT = ROOT / "docs" / "screenshots" / "run-report.png"
EXIT_CONFIGURATION = 2


def emergence(*arguments: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emergence.cli", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    runs = tmp_path_factory.mktemp("runs")
    finished = emergence(
        "run", "--agents", "10", "--ticks", "200", "--seed", "3", "--out", str(runs), "--quiet", "--json"
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    summary: dict[str, object] = json.loads(finished.stdout.strip().splitlines()[-1])
    summary["runs"] = str(runs)
    return summary


def require_browser() -> None:
    missing = [str(p) for p in (PLAYWRIGHT_CORE, Path(CHROMIUM)) if not p.exists()]
    if not missing and shutil.which("node"):
        return
    message = f"headless Chromium needs {missing or 'node'}: run 'make install'"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def test_every_run_ends_with_its_report(stored_run: dict[str, object]) -> None:
    report = Path(str(stored_run["report"]))

    assert report == Path(str(stored_run["out_dir"])) / "report.html"
    page = report.read_text(encoding="utf-8")
    assert str(stored_run["run_id"]) in page
    assert page.count('class="chart"') == 12


def test_report_command_writes_the_file_and_prints_metrics(
    stored_run: dict[str, object], tmp_path: Path
) -> None:
    out = tmp_path / "nested" / "report.html"

    finished = emergence(
        "report", str(stored_run["run_id"]), "--runs", str(stored_run["runs"]), "--out", str(out), "--json"
    )  # fmt: skip

    assert finished.returncode == 0, finished.stderr
    printed = json.loads(finished.stdout.strip().splitlines()[-1])
    assert printed["report"] == str(out) and out.is_file()
    assert printed["metrics"]["ticks"] == 200
    assert printed["metrics"]["population_start"] == 10
    assert printed["metrics"]["trades"] >= 0


@pytest.mark.parametrize("run_id", ["no-such-run", "x" * 100_000, "../../etc\x1b[2J"])
def test_report_of_an_unknown_run_says_so_with_exit_2(
    run_id: str, stored_run: dict[str, object]
) -> None:
    finished = emergence("report", run_id, "--runs", str(stored_run["runs"]))

    assert finished.returncode == EXIT_CONFIGURATION
    assert "no stored run" in finished.stderr or "no run" in finished.stderr
    assert len(finished.stderr) < 600
    assert "Traceback" not in finished.stderr


def test_report_of_a_run_missing_from_the_store_is_not_found(
    stored_run: dict[str, object],
) -> None:
    store = f"sqlite:///{Path(str(stored_run['out_dir'])) / 'history.sqlite'}"

    finished = emergence("report", "other-run", "--store", store)

    assert finished.returncode == EXIT_CONFIGURATION
    assert "no run 'other-run'" in finished.stderr


def test_every_chart_of_a_report_renders_in_chromium(
    stored_run: dict[str, object], tmp_path: Path
) -> None:
    require_browser()
    screenshot = tmp_path / "run-report.png"

    finished = subprocess.run(
        ["node", str(CHECK_CHARTS), Path(str(stored_run["report"])).as_uri(), str(screenshot)],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "PLAYWRIGHT_CORE": str(PLAYWRIGHT_CORE), "CHROMIUM": CHROMIUM},
    )

    assert finished.returncode == 0, finished.stderr
    seen = json.loads(finished.stdout.strip().splitlines()[-1])
    assert seen["requests"] == [], "a report must not reach the network"
    names = [chart["name"] for chart in seen["charts"]]
    assert len(names) == 12 and "social-graph" in names and "lorenz" in names
    blank = [
        c["name"] for c in seen["charts"] if c["width"] <= 0 or c["height"] <= 0 or not c["drawn"]
    ]
    assert not blank, f"charts drawn empty: {blank}"
    assert screenshot.stat().st_size > 10_000
    if os.environ.get("EMERGENCE_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, SCREENSHOT)


def test_compare_writes_a_comparison_report(stored_run: dict[str, object], tmp_path: Path) -> None:
    out = tmp_path / "comparison.html"

    finished = emergence(
        "compare", str(stored_run["run_id"]), "--out", str(stored_run["runs"]), "--report", str(out)
    )  # fmt: skip

    assert finished.returncode == 0, finished.stderr
    page = out.read_text(encoding="utf-8")
    assert "Emergence comparison report" in page
    assert "95 % confidence interval" in page and str(stored_run["run_id"])[-8:] in page
    assert page.count('class="chart"') == 2 and "<script" not in page
