"""Fault injection on the full mesh as real processes: ledger, engine and two runners over private
PostgreSQL, Redis and NATS instances that the tests stop and start.

For each fault the run must complete without a hand on it (a killed service is started again with
its usual flags, as a supervisor does; an outage simply ends), `emergence verify` must pass, the
history hash must equal the uninterrupted run's, JetStream must hold every tick summary exactly
once, and no process may be left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

from emergence.v1 import run_pb2
from tests.private_services import (
    PrivateNats,
    PrivatePostgres,
    PrivateRedis,
    free_port,
    missing_binaries,
)
from tests.services import ROOT, ServiceProcesses

AGENTS, TICKS, SEED = 10, 80, 3
FAULT_AT_TICK = 25
OUTAGE_SECONDS = 3.0
CONFIG = (
    "run: {tick_interval_ms: 20, decision_deadline_ms: 3000, snapshot_every_ticks: 20,"
    f" ticks: {TICKS}, agents: {AGENTS}, seed: {SEED}}}\n"
)

pytestmark = pytest.mark.skipif(
    bool(missing_binaries()), reason=f"needs {', '.join(missing_binaries())}"
)


@dataclass
class Stack:
    postgres: PrivatePostgres
    redis: PrivateRedis
    nats: PrivateNats


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    postgres, redis, nats = PrivatePostgres(), PrivateRedis(), PrivateNats()
    try:
        for server in (postgres, redis, nats):
            server.start()
        yield Stack(postgres, redis, nats)
    finally:
        for server in (nats, redis, postgres):
            server.close()


@dataclass
class Mesh:
    """One run's services: a fresh database in the private PostgreSQL, logs in `folder`."""

    stack: Stack
    folder: Path
    dsn: str = ""
    ledger: str = field(default_factory=lambda: f"127.0.0.1:{free_port()}")
    engine: str = field(default_factory=lambda: f"127.0.0.1:{free_port()}")
    services: ServiceProcesses | None = None

    def start(self) -> Mesh:
        name = f"faults_{uuid.uuid4().hex[:10]}"
        asyncio.run(_admin(self.stack.postgres.dsn, f'CREATE DATABASE "{name}"'))
        self.dsn = self.stack.postgres.dsn_of(name)
        (self.folder / "emergence.yaml").write_text(CONFIG)
        environment = {
            "DATABASE_URL": self.dsn,
            "REDIS_URL": self.stack.redis.url,
            "NATS_URL": self.stack.nats.url,
        }
        self.services = ServiceProcesses(self.folder, environment)
        self.start_ledger()
        self.start_engine()
        self.runners = [self.start_runner(f"runner-{n}") for n in ("a", "b")]
        return self

    def start_ledger(self) -> subprocess.Popen[bytes]:
        assert self.services is not None
        self.ledger_process = self.services.start(
            "ledger", "ledger_service.app", "--address", self.ledger, "--store", self.dsn
        )
        return self.ledger_process

    def start_engine(self) -> subprocess.Popen[bytes]:
        """The engine with its usual flags: started again, it resumes the unfinished run."""
        assert self.services is not None
        self.engine_process = self.services.start(
            "engine",
            "engine.app",
            *("--address", self.engine, "--ledger", self.ledger, "--store", self.dsn),
            *("--config", str(self.folder / "emergence.yaml"), "--runners", "2"),
        )
        return self.engine_process

    def start_runner(self, name: str) -> subprocess.Popen[bytes]:
        assert self.services is not None
        return self.services.start(
            name,
            "runner.app",
            *("--engine", self.engine, "--runner-id", name),
            *("--status-address", f"127.0.0.1:{free_port()}"),
        )

    def wait_for(
        self, what: str, check: Callable[[run_pb2.Run], bool], seconds: float
    ) -> run_pb2.Run:
        deadline = time.monotonic() + seconds
        last: run_pb2.Run | None = None
        while time.monotonic() < deadline:
            last = asyncio.run(_latest_run(self.dsn)) or last
            if last is not None and check(last):
                return last
            time.sleep(0.1)
        raise AssertionError(
            f"the run never reached {what} (last seen: {last}); logs in {self.folder}"
        )

    def wait_for_tick(self, tick: int) -> run_pb2.Run:
        return self.wait_for(f"tick {tick}", lambda run: run.current_tick >= tick, 60)

    def finish(self) -> run_pb2.Run:
        """Wait for the end, check that nothing is left running, and return the stored run."""
        done = self.wait_for(
            "its end",
            lambda run: run.status in (run_pb2.RUN_STATUS_COMPLETED, run_pb2.RUN_STATUS_FAILED),
            120,
        )
        assert self.services is not None
        # Runners leave by themselves when the run ends; engine and ledger stop on SIGTERM.
        for runner in self.runners:
            runner.wait(20)
        for process in (self.engine_process, self.ledger_process):
            process.send_signal(signal.SIGTERM)
            process.wait(20)
        leftovers = [p.args for p in self.services.processes if p.poll() is None]
        assert leftovers == [], leftovers
        self.services.stop()
        return done


async def _admin(dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _latest_run(dsn: str) -> run_pb2.Run | None:
    """The run as the store has it, or None while the store (or the run) is not there."""
    with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        connection = await asyncpg.connect(dsn, timeout=2)
        try:
            payload = await connection.fetchval(
                "SELECT payload FROM history.runs ORDER BY id DESC LIMIT 1"
            )
            tick = await connection.fetchval("SELECT max(tick) FROM history.ticks")
        finally:
            await connection.close()
        if payload is not None:
            run = run_pb2.Run.FromString(payload)
            if run.status == run_pb2.RUN_STATUS_RUNNING and tick is not None:
                run.current_tick = tick  # the record is saved at start and end; ticks in between
            return run
    return None


async def _tick_summaries_in_jetstream(nats_url: str, run_id: str) -> list[int]:
    import nats

    client = await nats.connect(nats_url)
    try:
        subscription = await client.jetstream().subscribe(
            f"emergence.{run_id}.tick", ordered_consumer=True
        )
        ticks: list[int] = []
        while True:
            # Long enough for the first messages, short once all are in (a duplicate would follow).
            timeout = 0.3 if len(ticks) > TICKS else 5.0
            try:
                message = await subscription.next_msg(timeout=timeout)
            except nats.errors.TimeoutError:
                return ticks
            ticks.append(int(run_pb2.TickSummary.FromString(message.data).tick))
    finally:
        await client.close()


def check_run(mesh: Mesh, run: run_pb2.Run, reference_hash: str | None) -> None:
    assert run.status == run_pb2.RUN_STATUS_COMPLETED, (run, mesh.folder)
    assert run.current_tick == TICKS
    verify = subprocess.run(
        [sys.executable, "-m", "emergence.cli", "verify", run.id, "--store", mesh.dsn],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    ticks = asyncio.run(_tick_summaries_in_jetstream(mesh.stack.nats.url, run.id))
    assert ticks == list(range(TICKS + 1)), f"JetStream holds ticks {ticks}"
    if reference_hash is not None:
        assert run.history_hash == reference_hash


@pytest.fixture(scope="module")
def reference_hash(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The uninterrupted run, once for the module."""
    mesh = Mesh(stack, tmp_path_factory.mktemp("reference")).start()
    run = mesh.finish()
    check_run(mesh, run, None)
    return run.history_hash


@pytest.fixture
def mesh(stack: Stack, tmp_path: Path) -> Iterator[Mesh]:
    started = Mesh(stack, tmp_path).start()
    try:
        yield started
    finally:
        assert started.services is not None
        started.services.stop()


def test_sigkill_ledger(mesh: Mesh, reference_hash: str) -> None:
    mesh.wait_for_tick(FAULT_AT_TICK)
    mesh.ledger_process.send_signal(signal.SIGKILL)
    mesh.ledger_process.wait(10)
    time.sleep(OUTAGE_SECONDS)
    mesh.start_ledger()
    check_run(mesh, mesh.finish(), reference_hash)


def test_sigkill_engine(mesh: Mesh, reference_hash: str) -> None:
    before = mesh.wait_for_tick(FAULT_AT_TICK)
    mesh.engine_process.send_signal(signal.SIGKILL)
    mesh.engine_process.wait(10)
    mesh.start_engine()
    run = mesh.finish()
    assert run.id == before.id
    check_run(mesh, run, reference_hash)


def test_sigkill_a_runner(mesh: Mesh, reference_hash: str) -> None:
    mesh.wait_for_tick(FAULT_AT_TICK)
    doomed = mesh.runners.pop()
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    check_run(mesh, mesh.finish(), reference_hash)


def test_all_runners_gone(mesh: Mesh, reference_hash: str) -> None:
    mesh.wait_for_tick(FAULT_AT_TICK)
    for runner in mesh.runners:
        runner.send_signal(signal.SIGKILL)
        runner.wait(10)
    # The stored run says what it waits for, while it waits.
    held = mesh.wait_for("a hold", lambda run: run.held_by.startswith("runners"), 30)
    time.sleep(OUTAGE_SECONDS)
    # Nobody decided, so nobody moved on: not one tick passed while no runner was there.
    assert mesh.wait_for_tick(0).current_tick <= held.current_tick + 1
    mesh.runners = [mesh.start_runner(f"runner-{n}") for n in ("c", "d")]
    check_run(mesh, mesh.finish(), reference_hash)


def test_postgres_down(mesh: Mesh, reference_hash: str) -> None:
    mesh.wait_for_tick(FAULT_AT_TICK)
    mesh.stack.postgres.stop()
    time.sleep(OUTAGE_SECONDS)
    mesh.stack.postgres.start()
    check_run(mesh, mesh.finish(), reference_hash)


def test_redis_down(mesh: Mesh, reference_hash: str) -> None:
    mesh.wait_for_tick(FAULT_AT_TICK)
    mesh.stack.redis.stop()
    time.sleep(OUTAGE_SECONDS)
    mesh.stack.redis.start()
    check_run(mesh, mesh.finish(), reference_hash)


def test_nats_down(mesh: Mesh, reference_hash: str) -> None:
    mesh.wait_for_tick(FAULT_AT_TICK)
    mesh.stack.nats.stop()
    time.sleep(OUTAGE_SECONDS)
    mesh.stack.nats.start()
    check_run(mesh, mesh.finish(), reference_hash)
