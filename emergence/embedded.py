"""The embedded run: ledger, engine and one runner in one process, talking real gRPC over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from emergence.mesh.errors import Unavailable
from emergence.mesh.redact import redact_url
from emergence.mesh.security import with_generated_tokens
from emergence.mesh.settings import Settings
from emergence.v1 import run_pb2
from engine.app import create_engine, new_run_id
from engine.simulation import TickReport

if TYPE_CHECKING:
    from gateway.launcher import EnvoyProcess

# The closing ledger audit's deadline: a floor, plus room for replaying each tick of the run.
VERIFY_BASE_SECONDS = 120.0
VERIFY_SECONDS_PER_TICK = 0.1


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


async def embedded_run(
    settings: Settings,
    *,
    progress: bool = True,
    dashboard: bool = False,
    on_summary: Callable[[RunSummary], None] | None = None,
    runner_process: bool = False,
) -> RunSummary:
    """One run in this process. With `dashboard`, an Envoy gateway serves the dashboard and the
    APIs of this engine on `observer_port` while the run goes on, and after it ends (the summary
    goes to `on_summary` first) until Ctrl-C. With `runner_process` the runner is a process of
    its own (`emergence-runner`), so its brain and the engine use both cores; it decides exactly
    as the in-process one does (same seed, same history)."""
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
    gateway: EnvoyProcess | None = None
    stop_runner = asyncio.Event()
    runner_task: asyncio.Task[None] | None = None
    try:
        host = await create_engine(
            settings, ledger_address=ledger.address, store_url=store_url, run_id=run_id
        )
        assert host.server is not None
        if runner_process:
            runner_task = asyncio.create_task(
                runner_in_a_process(host.server.address, settings, out_dir, stop_runner)
            )
        else:
            runner_task = asyncio.create_task(
                run_runner(
                    host.server.address,
                    brain=settings.run.brain,
                    runner_id="runner-1",
                    config=dict(settings.runner),
                    llm=dict(settings.llm),
                    seed=settings.run.seed,
                    stop_event=stop_runner,
                    # Memories in Redis when it is configured, as in the `emergence-runner`
                    # process.
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
        if dashboard:
            gateway = await start_dashboard_gateway(settings, host.server.address, out_dir)
        bar = ProgressBar(settings.run.ticks, enabled=progress)
        host.simulation.on_tick = bar.update
        started = time.perf_counter()
        reason = await host.simulation.run_until_end()
        wall = time.perf_counter() - started
        bar.close()
        # The audit replays every stored tick: a long run on a busy machine needs minutes, and
        # the tick deadline would fail a complete, sound run at its very end.
        ticks_run = max(0, host.simulation.state.tick - host.simulation.run.start_tick)
        verified = await host.ledger.verify(
            run_id, timeout_seconds=VERIFY_BASE_SECONDS + VERIFY_SECONDS_PER_TICK * ticks_run
        )
        summary = summarize(host, settings, reason, wall, bar, out_dir, ledger_url, verified.ok)
        if gateway is not None:
            if on_summary is not None:
                on_summary(summary)
            print("the dashboard keeps serving the finished run; Ctrl-C stops it", file=sys.stderr)
            await wait_for_interrupt()
        return summary
    finally:
        if gateway is not None:
            await gateway.stop()
        stop_runner.set()
        if runner_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(runner_task, 10)
        if host is not None:
            await host.close()
        await ledger.close()


async def runner_in_a_process(
    engine_address: str, settings: Settings, out_dir: Path, stop: asyncio.Event
) -> None:
    """`emergence-runner` for this run, until the run ends (it then leaves by itself) or `stop`.

    The run's brain, seed and `runner:`/`llm:` sections reach it with the engine's assignment;
    only the address, the runner token and Redis are its own settings. Its log is `runner.log`.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        status_port = int(probe.getsockname()[1])
    environment = {
        **os.environ,
        "RUNNER_TOKEN": settings.security.runner_token,
        "REDIS_URL": settings.storage.redis_url,
        "EMERGENCE_LOG_LEVEL": os.environ.get("EMERGENCE_LOG_LEVEL", "WARNING"),
    }
    log_file = await asyncio.to_thread(open, out_dir / "runner.log", "ab")
    with log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "runner.app", "--engine", engine_address,
            "--runner-id", "runner-1", "--status-address", f"127.0.0.1:{status_port}",
            env=environment, stdout=log_file, stderr=log_file,
        )  # fmt: skip
        ended = asyncio.create_task(process.wait())
        stopped = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({ended, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not ended.done():
                process.terminate()  # asks it to say goodbye and leave
                try:
                    await asyncio.wait_for(asyncio.shield(ended), 10)
                except TimeoutError:
                    process.kill()
                    await ended
        finally:
            stopped.cancel()
            if process.returncode is None:
                process.kill()
                await process.wait()


async def start_dashboard_gateway(
    settings: Settings, engine_address: str, out_dir: Path
) -> EnvoyProcess:
    """Envoy on `observer_port` in front of this process's engine (it hosts the Observer too)."""
    from emergence.up import dashboard_folder
    from gateway.launcher import start_envoy
    from gateway.render import render_envoy_config

    folder = dashboard_folder()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        admin_port = int(probe.getsockname()[1])
    config = render_envoy_config(settings.observer_port, engine_address, admin_port, folder)
    gateway = await start_envoy(config, work_dir=out_dir / "gateway")
    operator = "" if settings.operator_api_token else " (operator controls need OPERATOR_API_TOKEN)"
    url = f"http://127.0.0.1:{settings.observer_port}"
    page = (
        f"dashboard {url}/"
        if folder
        else f"gateway {url}/api/v1 (dashboard not built: make dashboard)"
    )
    print(f"{page}{operator}", flush=True)
    return gateway


async def wait_for_interrupt() -> None:
    """Until Ctrl-C (SIGINT) or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    try:
        await stop.wait()
    finally:
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signal_number)


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
