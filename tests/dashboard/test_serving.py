"""`emergence run --dashboard`: the embedded run serves the dashboard and its APIs through Envoy,
prints the address, keeps serving the finished run and stops on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from bench.mesh import ROOT, free_port
from emergence.up import dashboard_folder


def test_run_with_dashboard_serves_it_until_ctrl_c(tmp_path: Path) -> None:
    if dashboard_folder() is None:
        pytest.skip("the dashboard is not built: run 'make dashboard'")
    port = free_port()
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DRAGONFLY_URL", "NATS_URL"}
    }
    environment["OBSERVER_PORT"] = str(port)
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "emergence.cli", "run", "--dashboard", "--quiet", "--json"),
            *("--agents", "4", "--ticks", "30", "--seed", "5", "--out", str(tmp_path / "runs")),
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")))  # type: ignore[union-attr]
    reader.start()
    try:
        deadline = time.monotonic() + 90
        while not any("history_hash" in line for line in lines):
            assert process.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        output = "".join(lines)
        assert f"dashboard http://127.0.0.1:{port}/" in output, output
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200 and '<div id="root">' in page.text
        script = re.search(r'src="\./(assets/[^"]+\.js)"', page.text)
        assert script, page.text
        assert httpx.get(f"http://127.0.0.1:{port}/{script.group(1)}", timeout=5).status_code == 200
        runs = httpx.get(f"http://127.0.0.1:{port}/api/v1/runs", timeout=5).json()["runs"]
        assert [(run["status"], run["currentTick"]) for run in runs] == [
            ("RUN_STATUS_COMPLETED", "30")
        ]
        time.sleep(0.5)
        assert process.poll() is None, "the finished run must stay served until Ctrl-C"
        process.send_signal(signal.SIGINT)
        code = process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(5)
        if process.stdout is not None:
            process.stdout.close()
    assert code == 0, "".join(lines)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
