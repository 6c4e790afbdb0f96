"""Shared fixtures: real PostgreSQL, Redis and NATS. Missing services skip locally, fail when CI=true."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
NATS_URL = os.environ.get("TEST_NATS_URL", "nats://127.0.0.1:4222")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1.0
        ):
            return True
    except OSError:
        return False


def require_service(name: str, url: str, default_port: int) -> None:
    """Skip when a service is down on a developer machine; fail loudly in CI, where it is required."""
    if _reachable(url, default_port):
        return
    message = f"{name} is not reachable at {url}: start it (see README, 'Services for tests')"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _run_outside_loop(coroutine: Coroutine[object, object, object]) -> object:
    """Run a coroutine on a private loop in a thread, so sync and async fixtures can both use it."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _admin(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
def postgres_dsn() -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    require_service("PostgreSQL", POSTGRES_URL, 5432)
    name = f"emergence_test_{uuid.uuid4().hex[:12]}"
    _run_outside_loop(_admin(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        _run_outside_loop(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def redis_url() -> Iterator[str]:
    """Redis database 15, flushed before and after the test."""
    require_service("Redis", REDIS_URL, 6379)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def nats_url() -> str:
    require_service("NATS", NATS_URL, 4222)
    return NATS_URL
