"""The embedded run: ledger, engine and one runner in one process, talking real gRPC over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from emergence.mesh.errors import Unavailable
from emergence.mesh.redact import redact_url
from emergence.mesh.security import with_generated_tokens
from emergence.mesh.settings import Settings
from emergence.v1 import run_pb2
from engine.app import create_engine, new_run_id
from engine.simulation import TickReport


@dataclass
class RunSummary:
    run_id: str
    history_hash: str
    ticks: int
    end_reason: str
    alive: int
    births: int
    deaths: int
    events: int
    store: str
    ledger_store: str
    ledger_verified: bool
    ledger_anomalies: int
    out_dir: str
    wall_seconds: float
    ticks_per_second: float
    brain: str
    seed: int
    agents: int
    report: str = ""

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


class ProgressBar:
    """One line on stderr, redrawn in place on a terminal, every 10 % otherwise."""

    def __init__(self, total: int, stream: TextIO = sys.stderr, enabled: bool = True) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.enabled = enabled
        self.started = time.perf_counter()
        self.deaths = 0
        self.births = 0
        self._last_decile = -1
        self._last_draw = 0.0
        self._tty = stream.isatty()

    def update(self, report: TickReport) -> None:
        summary = report.summary
        self.deaths += summary.deaths
        self.births += summary.births
        if not self.enabled:
            return
        tick = summary.tick
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        width = 24
        filled = int(width * min(tick, self.total) / self.total)
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] tick {tick}/{self.total} | alive {summary.alive}"
            f" | births {self.births} | deaths {self.deaths} | {tick / elapsed:.1f} ticks/s"
        )
        now = time.perf_counter()
        if self._tty:
            if now - self._last_draw > 0.1 or tick >= self.total:
                self.stream.write("\r" + line)
                self.stream.flush()
                self._last_draw = now
        else:
            decile = tick * 10 // self.total
            if decile != self._last_decile:
                self._last_decile = decile
                self.stream.write(line + "\n")
                self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._tty:
            self.stream.write("\n")
            self.stream.flush()


async def embedded_run(settings: Settings, *, progress: bool = True) -> RunSummary:
    from ledger_service.app import create_ledger_server
    from runner.app import run_runner

    settings = with_generated_tokens(settings)
    run_id = new_run_id()
    out_dir = Path(settings.run.out) / run_id
    out_dir.mkdir(parents=True, exist_ok=True)
    database_url = settings.storage.database_url
    store_url = database_url or f"sqlite:///{out_dir / 'history.sqlite'}"
    ledger_url = database_url or f"sqlite:///{out_dir / 'ledger.sqlite'}"
    ledger = await create_ledger_server(
        "127.0.0.1:0", ledger_url, service_token=settings.security.service_token
    )
    host = None
    stop_runner = asyncio.Event()
    runner_task: asyncio.Task[None] | None = None
    try:
        host = await create_engine(
            settings, ledger_address=ledger.address, store_url=store_url, run_id=run_id
        )
        assert host.server is not None
        runner_task = asyncio.create_task(
            run_runner(
                host.server.address,
                brain=settings.run.brain,
                runner_id="runner-1",
                config=dict(settings.runner),
                llm=dict(settings.llm),
                seed=settings.run.seed,
                stop_event=stop_runner,
                # Memories in Redis when it is configured, as in the `emergence-runner` process.
                redis_url=settings.storage.redis_url,
                auth_token=settings.security.runner_token,
            )
        )
        connected = asyncio.create_task(host.hub.wait_for_runners(1, timeout_seconds=30))
        await asyncio.wait({connected, runner_task}, return_when=asyncio.FIRST_COMPLETED)
        if not connected.done():
            # The runner gave up before connecting (a bad `runner:` or `llm:` setting): say why.
            connected.cancel()
            runner_task.result()
            raise Unavailable("the embedded runner stopped before it connected to the engine")
        if not connected.result():
            raise Unavailable("the embedded runner did not connect to the engine within 30 s")
        bar = ProgressBar(settings.run.ticks, enabled=progress)
        host.simulation.on_tick = bar.update
        started = time.perf_counter()
        reason = await host.simulation.run_until_end()
        wall = time.perf_counter() - started
        bar.close()
        verified = await host.ledger.verify(run_id)
        return summarize(host, settings, reason, wall, bar, out_dir, ledger_url, verified.ok)
    finally:
        stop_runner.set()
        if runner_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(runner_task, 10)
        if host is not None:
            await host.close()
        await ledger.close()


def summarize(host, settings, reason, wall, bar, out_dir, ledger_url, verified) -> RunSummary:  # type: ignore[no-untyped-def]
    state = host.simulation.state
    ticks = state.tick
    return RunSummary(
        run_id=host.run.id,
        history_hash=host.simulation.hasher.hexdigest,
        ticks=ticks,
        end_reason=run_pb2.EndReason.Name(reason).removeprefix("END_REASON_").lower(),
        alive=len(state.living_agent_ids()),
        births=bar.births,
        deaths=bar.deaths,
        events=host.simulation.events_written,
        store=host.store.location,
        ledger_store=redact_url(ledger_url),
        ledger_verified=verified,
        ledger_anomalies=host.simulation.ledger_anomaly_events,
        out_dir=str(out_dir),
        wall_seconds=round(wall, 3),
        ticks_per_second=round(ticks / wall, 1) if wall > 0 else 0.0,
        brain=settings.run.brain,
        seed=settings.run.seed,
        agents=settings.run.agents,
    )
