"""Where agent memories live between ticks: in this process, or in Redis so another runner can
pick an agent up after a rebalance. Memories are stored as JSON (never pickled)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, Protocol

import orjson
import redis.asyncio as redis_asyncio
from redis.exceptions import RedisError

from emergence.mesh.errors import Unavailable
from runner.core.memory import AgentMemory, MemoryItem, from_dict


def memory_text(memory: AgentMemory) -> str:
    """The memory as JSON: the document `json.dumps(to_dict(memory))` gives, read back the same.

    orjson writes the memory's dataclasses itself and asks `_plain` only for its sets: building
    the document through `to_dict` (`dataclasses.asdict` deep-copies every value) and the
    standard encoder took about 30 times as long, seconds a tick for 500 agents of 30 kB each.
    The remembered moments, most of a memory and the same from one tick to the next, are
    written once each and reused (`_moments`).
    """
    document = {name: getattr(memory, name) for name in _FIELDS}
    for name in _MOMENT_LISTS:
        document[name] = _moments(document[name])
    return orjson.dumps(document, default=_plain).decode()


_FIELDS = tuple(field.name for field in dataclasses.fields(AgentMemory))
_MOMENT_LISTS = ("immediate", "short_term", "long_term")
# id of a moment -> (the moment, its JSON). A moment never changes once made (a frozen
# dataclass), and orjson took about 3 us for each one, every tick, for every agent saved. The
# moment is kept with its JSON so that its id cannot be reused while the entry stands; the
# cache is emptied when it grows past the bound (moments an agent has forgotten stay until then).
# The bound holds what 1 000 agents remember at most (about 260 moments each) with room for those
# forgotten since the last emptying: a smaller one would be emptied every save and help nothing.
_MOMENT_JSON: dict[int, tuple[MemoryItem, bytes]] = {}
_MOMENTS_CACHED = 400_000


def _moments(items: list[MemoryItem]) -> orjson.Fragment:
    """A list of moments as JSON, each written once."""
    if len(_MOMENT_JSON) >= _MOMENTS_CACHED:
        _MOMENT_JSON.clear()
    parts = []
    for item in items:
        known = _MOMENT_JSON.get(id(item))
        if known is None or known[0] is not item:
            known = _MOMENT_JSON[id(item)] = (item, orjson.dumps(item, default=_plain))
        parts.append(known[1])
    return orjson.Fragment(b"[" + b",".join(parts) + b"]")


def _plain(value: object) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"a memory holds a {type(value).__name__}, which has no JSON form")


class MemoryStore(Protocol):
    """`namespace` keeps runs apart (agent ids repeat across runs with the same seed)."""

    async def load_many(
        self, agent_ids: Iterable[str], *, namespace: str = ""
    ) -> dict[str, AgentMemory]: ...
    async def save_many(self, memories: Iterable[AgentMemory], *, namespace: str = "") -> None: ...
    async def close(self) -> None: ...


class InProcessMemoryStore:
    """The embedded default: a dict of JSON texts, so both stores round-trip the same way."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}

    async def load_many(
        self, agent_ids: Iterable[str], *, namespace: str = ""
    ) -> dict[str, AgentMemory]:
        return {
            agent_id: from_dict(orjson.loads(self._texts[f"{namespace}:{agent_id}"]))
            for agent_id in agent_ids
            if f"{namespace}:{agent_id}" in self._texts
        }

    async def save_many(self, memories: Iterable[AgentMemory], *, namespace: str = "") -> None:
        for memory in memories:
            self._texts[f"{namespace}:{memory.agent_id}"] = memory_text(memory)

    async def close(self) -> None:
        self._texts.clear()


class RedisMemoryStore:
    """One Redis string per agent under `<prefix>:<agent id>`; reads and writes are pipelined."""

    def __init__(self, url: str, *, prefix: str = "emergence:memory", ttl_seconds: int = 0) -> None:
        self.url = url
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self.client = redis_asyncio.from_url(url)

    def _key(self, agent_id: str, namespace: str = "") -> str:
        if namespace:
            return f"{self.prefix}:{namespace}:{agent_id}"
        return f"{self.prefix}:{agent_id}"

    async def load_many(
        self, agent_ids: Iterable[str], *, namespace: str = ""
    ) -> dict[str, AgentMemory]:
        wanted = sorted(agent_ids)
        if not wanted:
            return {}
        try:
            texts = await self.client.mget([self._key(agent_id, namespace) for agent_id in wanted])
        except RedisError as error:
            raise Unavailable(
                f"cannot read agent memories from Redis at {self.url}: {error}"
            ) from error
        return {
            agent_id: from_dict(orjson.loads(text))
            for agent_id, text in zip(wanted, texts, strict=True)
            if text is not None
        }

    async def save_many(self, memories: Iterable[AgentMemory], *, namespace: str = "") -> None:
        pipeline = self.client.pipeline(transaction=False)
        for memory in memories:
            text = memory_text(memory)
            key = self._key(memory.agent_id, namespace)
            pipeline.set(key, text, ex=self.ttl_seconds or None)
        try:
            await pipeline.execute()
        except RedisError as error:
            raise Unavailable(
                f"cannot write agent memories to Redis at {self.url}: {error}"
            ) from error

    async def close(self) -> None:
        await self.client.aclose()
