"""The event bus: tick summaries, events and alerts fanned out to observers (in-process or NATS)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

from emergence.mesh.errors import Unavailable
from emergence.v1 import event_pb2, run_pb2

log = logging.getLogger("emergence.bus")


def tick_subject(run_id: str) -> str:
    return f"emergence.{run_id}.tick"


def event_subject(run_id: str, event_type: int) -> str:
    name = event_pb2.EventType.Name(event_type).removeprefix("EVENT_TYPE_").lower()  # type: ignore[arg-type]
    return f"emergence.{run_id}.event.{name}"


def alert_subject(run_id: str) -> str:
    return f"emergence.{run_id}.alert"


class EventBus(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def publish_tick(
        self,
        summary: run_pb2.TickSummary,
        events: list[event_pb2.Event],
        alerts: list[run_pb2.Alert],
        event_payloads: list[bytes] | None = None,
    ) -> None: ...
    def subscribe(self, subject: str) -> AsyncIterator[tuple[str, bytes]]: ...


def _matches(pattern: str, subject: str) -> bool:
    """NATS wildcard match: `*` one token, `>` the rest."""
    pattern_tokens, subject_tokens = pattern.split("."), subject.split(".")
    for index, token in enumerate(pattern_tokens):
        if token == ">":
            return len(subject_tokens) > index
        if index >= len(subject_tokens) or (token != "*" and token != subject_tokens[index]):
            return False
    return len(pattern_tokens) == len(subject_tokens)


class InProcessBus:
    """Fan-out to asyncio queues; slow subscribers lose the oldest messages, never block the engine."""

    def __init__(self, queue_size: int = 10_000) -> None:
        self._subscribers: list[tuple[str, asyncio.Queue[tuple[str, bytes]]]] = []
        self._queue_size = queue_size

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self._subscribers.clear()

    def _emit(self, subject: str, payload: bytes) -> None:
        for pattern, queue in self._subscribers:
            if _matches(pattern, subject):
                if queue.full():
                    with contextlib.suppress(asyncio.QueueEmpty):
                        queue.get_nowait()
                queue.put_nowait((subject, payload))

    async def publish_tick(
        self,
        summary: run_pb2.TickSummary,
        events: list[event_pb2.Event],
        alerts: list[run_pb2.Alert],
        event_payloads: list[bytes] | None = None,
    ) -> None:
        payloads = event_payloads or [event.SerializeToString() for event in events]
        for event, payload in zip(events, payloads, strict=True):
            self._emit(event_subject(summary.run_id, event.type), payload)
        for alert in alerts:
            self._emit(alert_subject(summary.run_id), alert.SerializeToString())
        self._emit(tick_subject(summary.run_id), summary.SerializeToString())

    async def subscribe(self, subject: str) -> AsyncIterator[tuple[str, bytes]]:
        queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(self._queue_size)
        entry = (subject, queue)
        self._subscribers.append(entry)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.remove(entry)


class NatsBus:
    """NATS publish into subjects captured by a JetStream stream (for catch-up).

    Every message carries a `Nats-Msg-Id` made of the run id and the event's, alert's or tick's
    own id, so a tick published again after an outage or a crash is stored once. The tick summary
    goes last and waits for JetStream's acknowledgement: one connection's messages reach the server
    in order, so that ack means the stream has taken the whole tick. The client never stops
    reconnecting; while NATS is away, publishing fails with `Unavailable` and the engine holds.
    """

    STREAM = "EMERGENCE"
    ACK_TIMEOUT_SECONDS = 5.0

    def __init__(self, url: str) -> None:
        self.url = url
        self._client: Any = None  # nats.aio.client.Client once open
        self._jetstream: Any = None

    async def open(self) -> None:
        import nats

        try:
            self._client = await nats.connect(
                self.url,
                connect_timeout=2,
                allow_reconnect=True,
                max_reconnect_attempts=-1,  # never give up: the engine holds until NATS is back
                reconnect_time_wait=0.5,
                error_cb=self._on_error,
                disconnected_cb=self._on_disconnected,
                reconnected_cb=self._on_reconnected,
            )
        except Exception as error:  # nats raises several unrelated types for one cause
            raise Unavailable(
                f"cannot reach NATS at {self.url}: {error}",
                hint="check NATS_URL and that nats-server runs",
            ) from error
        self._jetstream = self._client.jetstream()
        await self._ensure_stream()

    async def _ensure_stream(self) -> None:
        from nats.js.api import StreamConfig

        config = StreamConfig(name=self.STREAM, subjects=["emergence.>"], max_age=24 * 3600.0)
        try:
            await self._jetstream.add_stream(config)
        except Exception:  # the stream already exists with another config: keep it
            log.debug("JetStream stream %s already present", self.STREAM)

    async def _on_error(self, error: Exception) -> None:
        log.warning("NATS: %s", error)

    async def _on_disconnected(self) -> None:
        log.warning("NATS at %s disconnected; reconnecting", self.url)

    async def _on_reconnected(self) -> None:
        log.warning("NATS at %s reconnected", self.url)

    async def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.drain()
            self._client = None

    async def publish_tick(
        self,
        summary: run_pb2.TickSummary,
        events: list[event_pb2.Event],
        alerts: list[run_pb2.Alert],
        event_payloads: list[bytes] | None = None,
    ) -> None:
        client = self._client
        if client is None:
            raise Unavailable("NATS bus is not open")
        run_id = summary.run_id
        try:
            payloads = event_payloads or [event.SerializeToString() for event in events]
            for event, payload in zip(events, payloads, strict=True):
                await client.publish(
                    event_subject(run_id, event.type),
                    payload,
                    headers={"Nats-Msg-Id": f"{run_id}:{event.id}"},
                )
            for alert in alerts:
                await client.publish(
                    alert_subject(run_id),
                    alert.SerializeToString(),
                    headers={"Nats-Msg-Id": f"{run_id}:alert:{alert.id}"},
                )
            await self._publish_acknowledged(summary)
        except Unavailable:
            raise
        except Exception as error:
            raise Unavailable(
                f"NATS at {self.url} did not take tick {summary.tick}: "
                f"{type(error).__name__}: {error}"[:200],
                hint="waiting for NATS",
            ) from error

    async def _publish_acknowledged(self, summary: run_pb2.TickSummary) -> None:
        from nats.js.errors import NoStreamResponseError

        for first in (True, False):
            try:
                await self._jetstream.publish(
                    tick_subject(summary.run_id),
                    summary.SerializeToString(),
                    timeout=self.ACK_TIMEOUT_SECONDS,
                    headers={"Nats-Msg-Id": f"{summary.run_id}:tick:{summary.tick}"},
                )
                return
            except NoStreamResponseError:
                # A NATS restarted without its storage has lost the stream: create it again.
                if not first:
                    raise
                await self._ensure_stream()

    async def subscribe(self, subject: str) -> AsyncIterator[tuple[str, bytes]]:
        if self._client is None:
            raise Unavailable("NATS bus is not open")
        subscription = await self._client.subscribe(subject)
        try:
            async for message in subscription.messages:
                yield message.subject, message.data
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()


def open_bus(url: str) -> EventBus:
    return NatsBus(url) if url else InProcessBus()
