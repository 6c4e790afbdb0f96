"""Test helper: `emergence up` as a real process, its output read as it comes, its children found."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from emergence.v1 import event_pb2, run_pb2
from tests.services import ROOT

STARTED = re.compile(r"^\s+(\S+)\s+(?:ready|back) in .*?pid (\d+)", re.MULTILINE)
RUN_LINE = re.compile(r"^\s+run (\S+)$", re.MULTILINE)
# No external stores: SQLite files and a NATS server of its own, as on a fresh machine.
EXTERNAL = {
    *("DATABASE_URL", "REDIS_URL", "DRAGONFLY_URL", "NATS_URL", "OBSERVER_PORT"),
    "OPERATOR_API_TOKEN",
}


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes: its parent has not reaped it yet
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


class UpProcess:
    """`emergence up --config FILE` with a small run; `output` grows while it runs."""

    def __init__(
        self,
        folder: Path,
        *,
        ticks: int,
        runners: int = 2,
        gateway: bool = True,
        extra_environment: dict[str, str] | None = None,
    ) -> None:
        self.folder = folder
        self.gateway_port = free_port()
        config = folder / "emergence.yaml"
        config.write_text(
            f"run: {{ticks: {ticks}, agents: 4, seed: 9, out: {folder / 'runs'},"
            " tick_interval_ms: 20, decision_deadline_ms: 2000}\n"
            f"services: {{engine: 127.0.0.1:{free_port()}, ledger: 127.0.0.1:{free_port()},"
            f" observer: 127.0.0.1:{free_port()}, experiments: 127.0.0.1:{free_port()}}}\n"
            f"observer_port: {self.gateway_port}\n"
        )
        environment = {k: v for k, v in os.environ.items() if k not in EXTERNAL}
        command = [sys.executable, "-m", "emergence.cli", "up", "--config", str(config)]
        command += ["--runners", str(runners)] + ([] if gateway else ["--no-gateway"])
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**environment, **(extra_environment or {}), "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self._lines)

    @property
    def mesh(self) -> Path:
        return self.folder / "runs" / "mesh"

    @property
    def store(self) -> str:
        return f"sqlite:///{self.mesh / 'history.sqlite'}"

    def pids(self) -> dict[str, int]:
        """Every process `up` started, by name (a restarted service appears under each pid)."""
        found: dict[str, int] = {}
        for name, pid in STARTED.findall(self.output):
            found[f"{name}#{pid}"] = int(pid)
        return found

    def wait_for(self, pattern: str, timeout_seconds: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            match = re.search(pattern, self.output, re.MULTILINE)
            if match:
                return match
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(
            f"no {pattern!r} in the output of emergence up:\n{self.output}\n{self.log_tails()}"
        )

    def log_tails(self, line_count: int = 6) -> str:
        """The end of every service's log, for a failure message."""
        tails = []
        for log in sorted(self.mesh.glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-line_count:]
            tails.append(f"--- {log.name}\n" + "\n".join(lines))
        return "\n".join(tails)

    def run_id(self) -> str:
        return self.wait_for(RUN_LINE.pattern).group(1)

    def wait_for_tick(self, tick: int, timeout_seconds: float = 60) -> None:
        run_id = self.run_id()
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"emergence up stopped early:\n{self.output}"
            if asyncio.run(stored_last_tick(self.store, run_id)) >= tick:
                return
            time.sleep(0.1)
        raise AssertionError(f"run {run_id} did not reach tick {tick}:\n{self.output}")

    def stop(self, signal_number: int, timeout_seconds: float = 60) -> int:
        """Signal `up` and wait for it; its children are left as `up` left them."""
        self.process.send_signal(signal_number)
        code = self.process.wait(timeout_seconds)
        self._reader.join(5)
        return code

    def close(self) -> None:
        """Whatever happened, leave nothing running and nothing open."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        for pid in self.pids().values():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


async def stored_run(store_url: str, run_id: str) -> run_pb2.Run:
    from engine.adapters.event_store import open_event_store

    store = open_event_store(store_url)
    await store.open()
    try:
        run = await store.get_run(run_id)
        assert run is not None, f"no run {run_id} in {store_url}"
        return run
    finally:
        await store.close()


async def stored_last_tick(store_url: str, run_id: str) -> int:
    from engine.adapters.event_store import open_event_store

    store = open_event_store(store_url)
    await store.open()
    try:
        return await store.last_tick(run_id)
    finally:
        await store.close()


async def last_tick_events(store_url: str, run_id: str) -> list[str]:
    from engine.adapters.event_store import open_event_store

    store = open_event_store(store_url)
    await store.open()
    try:
        last = await store.last_tick(run_id)
        events = await store.events(run_id, from_tick=last, to_tick=last)
        return [event_pb2.EventType.Name(event.type) for event in events]
    finally:
        await store.close()
