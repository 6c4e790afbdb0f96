"""`emergence run` keeps runner memories in Redis when REDIS_URL (storage.redis_url) is set,
the same store and keys the `emergence-runner` process uses; in process otherwise."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as redis_asyncio

from emergence.embedded import embedded_run
from emergence.mesh.settings import load_settings
from engine.adapters.event_store import open_event_store
from runner.adapters.memory_store import RedisMemoryStore


async def agent_ids(store_url: str, run_id: str) -> list[str]:
    store = open_event_store(store_url)
    await store.open()
    try:
        return sorted({d.agent_id for d in await store.decisions(run_id)})
    finally:
        await store.close()


async def test_the_embedded_run_keeps_runner_memories_in_redis(
    redis_url: str, tmp_path: Path
) -> None:
    settings = load_settings(
        None,
        overrides={
            "run.agents": 4,
            "run.ticks": 6,
            "run.seed": 9,
            "run.brain": "heuristic",
            "run.out": str(tmp_path),
            "storage.redis_url": redis_url,
        },
    )
    summary = await embedded_run(settings, progress=False)
    assert summary.ticks == 6
    agents = await agent_ids(summary.store, summary.run_id)
    assert len(agents) == 4
    store = RedisMemoryStore(redis_url)
    client = redis_asyncio.Redis.from_url(redis_url)
    try:
        saved = await store.load_many(agents, namespace=summary.run_id)
        keys = {
            key.decode() async for key in client.scan_iter(f"emergence:memory:{summary.run_id}:*")
        }
        ttl = await client.ttl(f"emergence:memory:{summary.run_id}:{agents[0]}")
    finally:
        await store.close()
        await client.aclose()
    assert sorted(saved) == agents
    assert keys == {f"emergence:memory:{summary.run_id}:{agent}" for agent in agents}
    # Written every tick: the last write holds what the agents saw up to the last tick.
    assert all(memory.last_tick >= 1 and memory.places for memory in saved.values())
    assert max(memory.last_tick for memory in saved.values()) == 6
    assert 0 < ttl <= 7 * 24 * 3600


async def test_without_redis_the_embedded_run_writes_no_memories(
    redis_url: str, tmp_path: Path
) -> None:
    settings = load_settings(
        None,
        overrides={
            "run.agents": 3,
            "run.ticks": 2,
            "run.out": str(tmp_path),
            "storage.redis_url": "",
        },
    )
    summary = await embedded_run(settings, progress=False)
    client = redis_asyncio.Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(f"emergence:memory:{summary.run_id}:*")]
    finally:
        await client.aclose()
    assert summary.ticks == 2 and keys == []
