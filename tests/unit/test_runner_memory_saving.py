"""The runner writes a memory only when it changed, as the same JSON document `to_dict` gives."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import replace

from runner.adapters.memory_store import InProcessMemoryStore, memory_text
from runner.core.memory import AgentMemory, from_dict, to_dict
from runner.core.routing import RunnerConfig
from runner.decider import Decider
from tests.sim.world_builder import make_world
from tests.unit.test_runner_fixtures import one_tick, perceptions


class CountingStore(InProcessMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.saved: list[list[str]] = []

    async def save_many(self, memories: Iterable[AgentMemory], *, namespace: str = "") -> None:
        memories = list(memories)
        self.saved.append([memory.agent_id for memory in memories])
        await super().save_many(memories, namespace=namespace)


def lived_memories() -> list[AgentMemory]:
    """Memories after a few ticks of a real world: places, goals, met agents, items."""
    state = make_world(8, 42)
    decider = Decider(RunnerConfig(brain="heuristic"), seed=42)
    for _ in range(6):
        asyncio.run(one_tick(decider, state))
    return list(decider.memories.values())


def test_memory_text_is_the_document_to_dict_gives_and_reads_back_equal() -> None:
    memories = lived_memories()
    assert any(memory.met and memory.places for memory in memories)
    for memory in memories:
        memory.known_by.setdefault("someone", set()).update({"pottery", "cooking"})
        document = json.loads(memory_text(memory))
        assert document == json.loads(json.dumps(to_dict(memory)))
        assert from_dict(document) == memory


def test_memory_text_follows_the_moments_as_they_change_between_saves() -> None:
    """Moments are written once and reused: what a later save writes is still the memory then."""
    state = make_world(8, 42)
    decider = Decider(RunnerConfig(brain="heuristic"), seed=42)
    texts: dict[str, list[str]] = {}
    for _ in range(12):
        asyncio.run(one_tick(decider, state))
        for memory in decider.memories.values():
            document = json.loads(memory_text(memory))
            assert document == json.loads(json.dumps(to_dict(memory)))
            texts.setdefault(memory.agent_id, []).append(json.dumps(document["immediate"]))
    # Moments came and went between the saves, and each save wrote the ones held at the time.
    assert any(len(set(history)) > 1 for history in texts.values())
    memory = next(iter(decider.memories.values()))
    memory.immediate = [replace(item, summary=item.summary + "!") for item in memory.immediate]
    assert json.loads(memory_text(memory)) == json.loads(json.dumps(to_dict(memory)))


def test_a_save_writes_only_the_memories_changed_since_the_last_one() -> None:
    state = make_world(6, 7)
    store = CountingStore()
    decider = Decider(RunnerConfig(brain="heuristic"), seed=7, store=store)
    found = perceptions(state)
    decider.assign(found)
    first = sorted(found)[0]
    decider.needs_model(found[first])
    decider.decide_now(found[first])
    asyncio.run(decider.save_memories())
    asyncio.run(decider.save_memories())
    assert store.saved == [[first]]
    saved = asyncio.run(store.load_many([first]))[first]
    assert saved.decided_tick == found[first].tick
    assert saved == decider.memories[first]
