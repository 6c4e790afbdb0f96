"""Agent memories in Redis and in process: the same JSON round trip, pipelined."""

from __future__ import annotations

import uuid

import pytest

from runner.adapters.memory_store import InProcessMemoryStore, RedisMemoryStore
from runner.core.memory import AgentMemory, MemoryItem, observe
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
