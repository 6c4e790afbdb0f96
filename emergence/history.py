"""The history hash: a SHA-256 chain over the ordered events, without wall-clock fields or run id."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from google.protobuf import timestamp_pb2

from emergence.v1 import event_pb2

GENESIS = "0" * 64


def canonical_event_bytes(event: event_pb2.Event) -> bytes:
    """The event as it counts for reproducibility: real time and run id cleared, deterministic bytes.

    The two fields are cleared on the event itself and put back, rather than on a copy: copying
    every event (context and agent state included) cost more than serializing it.
    """
    run_id = event.run_id
    real_time = None
    if event.HasField("real_time"):
        real_time = timestamp_pb2.Timestamp()
        real_time.CopyFrom(event.real_time)
        event.ClearField("real_time")
    event.ClearField("run_id")
    try:
        return event.SerializeToString(deterministic=True)
    finally:
        event.run_id = run_id
        if real_time is not None:
            event.real_time.CopyFrom(real_time)


def event_payloads(events: Iterable[event_pb2.Event]) -> tuple[list[bytes], list[bytes]]:
    """Each event serialized once: its canonical bytes (for the hash) and its full bytes (for the
    store and the bus), which are the canonical bytes followed by the run id and real time.
    Protobuf parses concatenated messages as one, so the full bytes read back as the event."""
    canonical, full = [], []
    for event in events:
        payload = canonical_event_bytes(event)
        tail = event_pb2.Event(run_id=event.run_id)
        if event.HasField("real_time"):
            tail.real_time.CopyFrom(event.real_time)
        canonical.append(payload)
        full.append(payload + tail.SerializeToString())
    return canonical, full


class HistoryHasher:
    """Folds events one tick at a time; `hexdigest` after tick T equals the stored hash of tick T."""

    def __init__(self, start: str = GENESIS) -> None:
        self._current = start

    def add_tick(self, events: Iterable[event_pb2.Event]) -> str:
        return self.add_payloads(canonical_event_bytes(event) for event in events)

    def add_payloads(self, payloads: Iterable[bytes]) -> str:
        """Like add_tick, from the events' canonical bytes already made."""
        digest = hashlib.sha256(bytes.fromhex(self._current))
        for payload in payloads:
            digest.update(len(payload).to_bytes(4, "big"))
            digest.update(payload)
        self._current = digest.hexdigest()
        return self._current

    @property
    def hexdigest(self) -> str:
        return self._current
