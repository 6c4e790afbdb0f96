"""The hub evicts a silent runner, but not for the time its own process could not run."""

from __future__ import annotations

import asyncio
import time

import pytest

from engine.adapters import runner_hub
from engine.adapters.runner_hub import RunnerConnection, RunnerHub


def _hub_with_runner(monkeypatch: pytest.MonkeyPatch) -> tuple[RunnerHub, RunnerConnection]:
    monkeypatch.setattr(runner_hub, "HEARTBEAT_INTERVAL_SECONDS", 0.05)
    monkeypatch.setattr(runner_hub, "SILENCE_EVICTS_AFTER_SECONDS", 0.2)
    hub = RunnerHub()
    hub.deadline_ms = 0
    connection = RunnerConnection("runner-1", 10, asyncio.Queue())
    hub._runners["runner-1"] = connection
    return hub, connection


async def test_a_runner_silent_past_the_limit_is_evicted(monkeypatch: pytest.MonkeyPatch) -> None:
    hub, connection = _hub_with_runner(monkeypatch)
    beats = asyncio.create_task(hub._heartbeat(connection))
    await asyncio.wait_for(beats, 2)
    assert connection.closed and hub.evictions == 1


async def test_a_stall_of_the_hubs_own_process_is_not_the_runners_silence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub, connection = _hub_with_runner(monkeypatch)
    beats = asyncio.create_task(hub._heartbeat(connection))
    await asyncio.sleep(0.01)
    connection.last_seen = time.monotonic()
    time.sleep(0.5)  # noqa: ASYNC251 - a long synchronous phase: nothing else in this thread runs
    await asyncio.sleep(0.01)  # the heartbeat, whose sleep is long over, runs first
    connection.last_seen = time.monotonic()  # then the reader takes what the runner sent
    await asyncio.sleep(0.12)
    assert not connection.closed and hub.evictions == 0
    beats.cancel()
