"""The dashboard in Debian's Chromium against the real mesh through Envoy (one mesh for all checks).

The browser side is observer/e2e/dashboard.e2e.mjs (playwright-core); each check it prints is one
assertion here. Panel screenshots go to a temporary folder, or to docs/screenshots/ with
EMERGENCE_UPDATE_SCREENSHOTS=1 (how the committed pictures are made).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from bench.mesh import DASHBOARD_DIST, ROOT, dashboard_mesh
from tests.conftest import in_ci

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCRIPT = ROOT / "observer" / "e2e" / "dashboard.e2e.mjs"
PANELS = (
    "map", "timeline", "agent", "economy", "discoveries", "social",
    "population", "conflicts", "eras", "constructs", "operator", "alerts",
)  # fmt: skip
CHECKS = {
    "dashboard loads from the gateway",
    "live ticks advance without reload",
    "the map shows agents moving",
    "the timeline filters by type",
    "the timeline filters by region",
    "an agent opens in the inspector with its decisions",
    "pause without the token fails visibly",
    "pause with the token stops the ticks; resume starts them again",
    "an injected plague shows in the timeline and in the alerts",
    "every panel has a screenshot",
    "time travel to an earlier tick changes the map",
    "a finished run from the store opens from the run picker",
    "an unknown run says so",
    "a gateway that does not answer says so",
    "no script errors in the page",
}


def _require_browser() -> None:
    missing = [
        what
        for what, present in (
            ("chromium (make install)", Path(CHROMIUM).is_file()),
            ("node", shutil.which("node") is not None),
            ("observer/node_modules (make install)", (ROOT / "observer/node_modules").is_dir()),
            ("observer/dist (make dashboard)", (DASHBOARD_DIST / "index.html").is_file()),
        )
        if not present
    ]
    if missing:
        message = f"the browser test needs {', '.join(missing)}"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


async def _browse(gateway_url: str, screenshots: Path, token: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        "node", str(SCRIPT), gateway_url, str(screenshots), token,
        cwd=ROOT / "observer",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=150)
    except TimeoutError:
        process.kill()
        output, _ = await process.communicate()
        return -1, output.decode(errors="replace") + "\n(the browser script timed out)"
    return process.returncode or 0, output.decode(errors="replace")


async def test_the_dashboard_works_in_a_browser_against_the_mesh(tmp_path: Path) -> None:
    _require_browser()
    if os.environ.get("EMERGENCE_UPDATE_SCREENSHOTS") == "1":
        screenshots = ROOT / "docs" / "screenshots"
    else:
        screenshots = tmp_path / "screenshots"
    async with dashboard_mesh(tmp_path / "mesh", finished_run_ticks=20) as mesh:
        code, output = await _browse(mesh.gateway_url, screenshots, mesh.operator_token)
    results = {}
    for line in output.splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            results[entry["check"]] = entry
    failed = [f"{name}: {entry['detail']}" for name, entry in results.items() if not entry["ok"]]
    assert not failed, "\n".join(failed) + "\n" + output[-3000:]
    assert set(results) == CHECKS, output[-3000:]
    assert code == 0, output[-3000:]
    for panel in PANELS:
        assert (screenshots / f"{panel}.png").stat().st_size > 2000, panel
