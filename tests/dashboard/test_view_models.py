"""The dashboard's own checks: strict TypeScript with no `any`, and its view-model unit tests (Vitest)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

OBSERVER = Path(__file__).resolve().parents[2] / "observer"
NPX = shutil.which("npx")

pytestmark = pytest.mark.skipif(
    NPX is None or not (OBSERVER / "node_modules").is_dir(),
    reason="Node dependencies are missing: run 'make install'",
)


def _run(*command: str, timeout_seconds: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(NPX), "--no-install", *command],
        cwd=OBSERVER,
        capture_output=True,
        text=True,
        timeout=timeout_seconds,
        check=False,
    )


def test_the_dashboard_type_checks_strictly() -> None:
    result = _run("tsc", "-p", ".", "--noEmit")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_the_dashboard_code_never_uses_any() -> None:
    written = [
        path
        for path in (OBSERVER / "src").rglob("*.ts*")
        if "gen" not in path.relative_to(OBSERVER / "src").parts
    ]
    assert written, "no dashboard sources found"
    pattern = re.compile(r"(:\s*any\b|\bas\s+any\b|<any>|any\[\])")
    offenders = [
        f"{path.relative_to(OBSERVER)}:{number}: {line.strip()}"
        for path in written
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_view_model_unit_tests_pass() -> None:
    result = _run("vitest", "run", "--reporter=dot")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    passed = re.search(r"Tests\s+(\d+) passed", re.sub(r"\x1b\[[0-9;]*m", "", output))
    assert passed and int(passed.group(1)) >= 20, output[-2000:]
