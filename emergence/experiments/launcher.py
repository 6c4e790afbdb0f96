"""The local launcher: one `emergence-engine` process per run, so runs advance on several cores.

Each engine serves its run from the shared store (`--run RUN_ID`), hosts the run's runner in its
own process, dials the shared ledger, and advances only when stepped or started through it. The
engine picks its own port (`127.0.0.1:0`) and prints it; the launcher reads it from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from emergence.mesh.errors import FailedPrecondition, Unavailable

log = logging.getLogger("emergence.experiments.launcher")

SERVING = re.compile(rb"engine serving on (\S+), run ")
START_TIMEOUT_SECONDS = 120.0


@dataclass
class EngineProcess:
    run_id: str
    process: asyncio.subprocess.Process
    log_path: Path
    log_file: IO[bytes]
    address: str = ""
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    # Set when the launcher asked it to stop: any other exit is a death the registry records.
    stopping: bool = False

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def tail(self, lines: int = 8) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])


@dataclass
class LocalLauncher:
    """Starts, finds and stops the engine processes of runs; logs under `log_folder`."""

    store_url: str
    ledger_address: str
    log_folder: Path
    environment: dict[str, str] = field(default_factory=dict)
    # Where each engine writes its run's report when the run ends (the engine's default if unset).
    reports_folder: Path | None = None
    engines: dict[str, EngineProcess] = field(default_factory=dict)
    on_unexpected_exit: Callable[[EngineProcess], Awaitable[None]] | None = None
    _reapers: set[asyncio.Task[None]] = field(default_factory=set)

    def engine(self, run_id: str) -> EngineProcess | None:
        engine = self.engines.get(run_id)
        return engine if engine is not None and engine.alive else None

    async def start(self, run_id: str) -> EngineProcess:
        """The run's engine, started if it is not running (a stopped run's engine resumes it)."""
        running = self.engine(run_id)
        if running is not None:
            return running
        self.log_folder.mkdir(parents=True, exist_ok=True)
        log_path = self.log_folder / f"engine-{run_id}.log"
        log_file = open(log_path, "ab")  # noqa: SIM115, ASYNC230 - closed on exit; a local file
        start_offset = log_file.tell()
        arguments = [
            *("-m", "engine.app", "--run", run_id, "--store", self.store_url),
            *("--ledger", self.ledger_address, "--address", "127.0.0.1:0"),
            # --stop-with-parent: no engine outlives its control plane, even one killed by SIGKILL.
            *("--manual", "--in-process-runner", "--stop-with-parent", str(os.getpid())),
        ]
        if self.reports_folder is not None:
            arguments += ["--reports", str(self.reports_folder)]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *arguments,
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, **self.environment},
            start_new_session=True,  # a Ctrl-C of the control plane's terminal is ours to pass on
        )
        engine = EngineProcess(run_id, process, log_path, log_file)
        self.engines[run_id] = engine
        reaper = asyncio.create_task(self._reap(engine))
        self._reapers.add(reaper)
        reaper.add_done_callback(self._reapers.discard)
        engine.address = await self._address(engine, start_offset)
        log.info("run %s: engine pid %d serving on %s", run_id, process.pid, engine.address)
        return engine

    async def _address(self, engine: EngineProcess, offset: int) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_SECONDS
        while loop.time() < deadline:
            with contextlib.suppress(OSError):
                with open(engine.log_path, "rb") as file:  # noqa: ASYNC230 - a local log
                    file.seek(offset)
                    found = SERVING.search(file.read())
                if found:
                    return found.group(1).decode()
            if not engine.alive:
                raise FailedPrecondition(
                    f"the engine of run {engine.run_id} stopped at start (exit code"
                    f" {engine.process.returncode}): {engine.tail(3)[-600:]}"
                )
            await asyncio.sleep(0.05)
        await self.stop(engine.run_id)
        raise Unavailable(f"the engine of run {engine.run_id} did not serve within 120 s")

    async def _reap(self, engine: EngineProcess) -> None:
        await engine.process.wait()
        engine.log_file.close()
        engine.exited.set()
        log.info("run %s: engine exited with %s", engine.run_id, engine.process.returncode)
        if not engine.stopping and self.on_unexpected_exit is not None:
            try:
                await self.on_unexpected_exit(engine)
            except Exception:
                log.exception("run %s: recording its engine's exit failed", engine.run_id)

    async def stop(self, run_id: str, grace_seconds: float = 30.0) -> None:
        """SIGTERM (the engine finishes its tick), then SIGKILL after `grace_seconds`."""
        engine = self.engines.get(run_id)
        if engine is None or not engine.alive:
            return
        engine.stopping = True
        with contextlib.suppress(ProcessLookupError):
            engine.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(engine.exited.wait(), grace_seconds)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                engine.process.kill()
            await engine.exited.wait()

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(run_id) for run_id in list(self.engines)))
