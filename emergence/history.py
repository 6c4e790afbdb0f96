"""The history hash: a SHA-256 chain over the ordered events, without wall-clock fields or run id."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from emergence.v1 import event_pb2

GENESIS = "0" * 64


def canonical_event_bytes(event: event_pb2.Event) -> bytes:
    """The event as it counts for reproducibility: real time and run id cleared, deterministic bytes."""
    copy = event_pb2.Event()
    copy.CopyFrom(event)
    copy.ClearField("real_time")
    copy.ClearField("run_id")
    return copy.SerializeToString(deterministic=True)


class HistoryHasher:
    """Folds events one tick at a time; `hexdigest` after tick T equals the stored hash of tick T."""

    def __init__(self, start: str = GENESIS) -> None:
        self._current = start

    def add_tick(self, events: Iterable[event_pb2.Event]) -> str:
        digest = hashlib.sha256(bytes.fromhex(self._current))
        for event in events:
            payload = canonical_event_bytes(event)
            digest.update(len(payload).to_bytes(4, "big"))
            digest.update(payload)
        self._current = digest.hexdigest()
        return self._current

    @property
    def hexdigest(self) -> str:
        return self._current
