"""Hot state: the latest tick summary, agents and a resumable state blob (in-process or Redis)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from emergence.mesh.errors import Unavailable
from emergence.mesh.outages import outages_as_unavailable


def redis_outage(error: BaseException) -> bool:
    from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError

    return isinstance(error, ConnectionError | TimeoutError | BusyLoadingError | OSError)


class HotState(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def write_tick(
        self, run_id: str, tick: int, summary: bytes, agents: Mapping[str, bytes], state_blob: bytes
    ) -> None: ...
    async def read_latest(self, run_id: str) -> tuple[int, bytes] | None: ...
    async def agent(self, run_id: str, agent_id: str) -> bytes | None: ...


class InProcessHotState:
    def __init__(self) -> None:
        self._ticks: dict[str, tuple[int, bytes, bytes]] = {}
        self._agents: dict[str, dict[str, bytes]] = {}

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def write_tick(
        self, run_id: str, tick: int, summary: bytes, agents: Mapping[str, bytes], state_blob: bytes
    ) -> None:
        self._ticks[run_id] = (tick, summary, state_blob)
        self._agents.setdefault(run_id, {}).update(agents)

    async def read_latest(self, run_id: str) -> tuple[int, bytes] | None:
        entry = self._ticks.get(run_id)
        return (entry[0], entry[2]) if entry else None

    async def agent(self, run_id: str, agent_id: str) -> bytes | None:
        return self._agents.get(run_id, {}).get(agent_id)


@outages_as_unavailable("Redis", redis_outage)
class RedisHotState:
    """One pipelined round trip per tick: summary, agents hash, state blob, tick number."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client: Any = None  # redis.asyncio.Redis once open

    async def open(self) -> None:
        import redis.asyncio as redis
        from redis.exceptions import RedisError

        # Short timeouts: an outage must surface as an error the engine retries, never a hang.
        self._client = redis.Redis.from_url(
            self.url, socket_connect_timeout=2, socket_timeout=5, retry_on_timeout=False
        )
        try:
            await self._client.ping()
        except (RedisError, OSError) as error:
            raise Unavailable(
                f"cannot reach Redis at {self.url}: {error}",
                hint="check REDIS_URL and that Redis runs",
            ) from error

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def write_tick(
        self, run_id: str, tick: int, summary: bytes, agents: Mapping[str, bytes], state_blob: bytes
    ) -> None:
        assert self._client is not None
        prefix = f"emergence:{run_id}"
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.set(f"{prefix}:summary", summary)
            pipe.set(f"{prefix}:state", state_blob)
            pipe.set(f"{prefix}:tick", tick)
            if agents:
                pipe.hset(f"{prefix}:agents", mapping=dict(agents))
            await pipe.execute()

    async def read_latest(self, run_id: str) -> tuple[int, bytes] | None:
        assert self._client is not None
        prefix = f"emergence:{run_id}"
        tick, blob = await self._client.mget(f"{prefix}:tick", f"{prefix}:state")
        if tick is None or blob is None:
            return None
        return int(tick), bytes(blob)

    async def agent(self, run_id: str, agent_id: str) -> bytes | None:
        assert self._client is not None
        value = await self._client.hget(f"emergence:{run_id}:agents", agent_id)
        return bytes(value) if value is not None else None


def open_hot_state(url: str) -> HotState:
    return RedisHotState(url) if url else InProcessHotState()
