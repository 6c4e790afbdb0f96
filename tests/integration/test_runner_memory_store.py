"""Agent memories in Redis and in process: the same JSON round trip, pipelined."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from runner.adapters.memory_store import InProcessMemoryStore, RedisMemoryStore
from runner.app import run_runner
from runner.core.memory import AgentMemory, MemoryItem, observe
from tests.integration.test_runner_client import FakeEngine, serve
from tests.unit.test_runner_fixtures import first_perception


def sample_memories() -> list[AgentMemory]:
    found = first_perception()
    memories = []
    for index in range(3):
        memory = AgentMemory(f"agent-{index}")
        observe(memory, found)
        memory.set_goal(f"goal {index}", index, 1)
        memory.long_term.append(MemoryItem(2, "social", "Kora stole from me", ("k",), 0.9))
        memory.known_by["k"] = {"cooking"}
        memories.append(memory)
    return memories


@pytest.fixture(params=["in-process", "redis"])
async def store(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    if request.param == "in-process":
        found = InProcessMemoryStore()
    else:
        url = request.getfixturevalue("redis_url")
        found = RedisMemoryStore(url, prefix=f"test-memory-{uuid.uuid4().hex}", ttl_seconds=60)
    yield found
    await found.close()


async def test_memories_round_trip(store) -> None:  # type: ignore[no-untyped-def]
    memories = sample_memories()
    await store.save_many(memories)
    loaded = await store.load_many(["agent-0", "agent-2", "nobody"])
    assert sorted(loaded) == ["agent-0", "agent-2"]
    assert loaded["agent-0"] == memories[0] and loaded["agent-2"] == memories[2]


async def test_saving_again_replaces_the_memory(store) -> None:  # type: ignore[no-untyped-def]
    memory = sample_memories()[0]
    await store.save_many([memory])
    memory.set_goal("find water", 5, 3)
    await store.save_many([memory])
    loaded = await store.load_many([memory.agent_id])
    assert loaded[memory.agent_id].goals[0].text == "find water"


async def test_the_runner_keeps_memories_in_redis_and_a_new_runner_takes_them_up(
    redis_url: str,
) -> None:
    """Runner one decides three ticks and leaves its agents' memories in Redis under the run;
    runner two, a fresh process in all but name, starts from them instead of from nothing."""
    engine = FakeEngine(ticks=3, run_id="run-memory")
    server = await serve(engine)
    try:
        await asyncio.wait_for(run_runner(server.address, runner_id="r-a", redis_url=redis_url), 30)
    finally:
        await server.stop(0)
    agent_ids = sorted(engine.decisions[1])
    store = RedisMemoryStore(redis_url)
    try:
        saved = await store.load_many(agent_ids, namespace="run-memory")
        assert sorted(saved) == agent_ids
        assert all(memory.places and memory.last_tick == 3 for memory in saved.values())
        assert await store.load_many(agent_ids) == {}  # another run's memories are not these
        planted = saved[agent_ids[0]]
        planted.long_term.append(MemoryItem(0, "social", "Kora stole my fish", ("k",), 0.95))
        planted.set_goal("avoid Kora", 5, 0)
        await store.save_many([planted], namespace="run-memory")

        second = FakeEngine(ticks=2, run_id="run-memory")
        server = await serve(second)
        try:
            await asyncio.wait_for(
                run_runner(server.address, runner_id="r-b", redis_url=redis_url), 30
            )
        finally:
            await server.stop(0)
        after = (await store.load_many([agent_ids[0]], namespace="run-memory"))[agent_ids[0]]
    finally:
        await store.close()
    assert any(item.summary == "Kora stole my fish" for item in after.long_term)
    assert any(goal.text == "avoid Kora" for goal in after.goals)


async def test_without_redis_the_runner_keeps_memories_in_process() -> None:
    engine = FakeEngine(ticks=1)
    server = await serve(engine)
    try:
        await asyncio.wait_for(run_runner(server.address, runner_id="r-c"), 30)
    finally:
        await server.stop(0)
    assert len(engine.decisions[1]) == 5
