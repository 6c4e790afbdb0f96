"""Events serialized once: the full bytes read back as the event, the canonical bytes hash it."""

from __future__ import annotations

from emergence.history import HistoryHasher, canonical_event_bytes, event_payloads
from emergence.v1 import event_pb2


def test_one_serialization_serves_the_hash_the_store_and_the_bus() -> None:
    stamped = event_pb2.Event(id="e-1", run_id="run-1", tick=4, agent_id="a-1", location_id="x")
    stamped.real_time.FromSeconds(1_700_000_000)
    bare = event_pb2.Event(id="e-2", tick=4, agent_id="\x00" * 3 + "é" * 500)
    canonical, full = event_payloads([stamped, bare])
    for event, payload in zip([stamped, bare], full, strict=True):
        assert event_pb2.Event.FromString(payload) == event
    assert canonical == [canonical_event_bytes(stamped), canonical_event_bytes(bare)]
    # Hashing cleared nothing for good: the events keep their run id and real time.
    assert stamped.run_id == "run-1" and stamped.real_time.seconds == 1_700_000_000
    assert HistoryHasher().add_payloads(canonical) == HistoryHasher().add_tick([stamped, bare])
