"""Snapshots are versioned protobuf data: they round-trip exactly and can never run code."""

from __future__ import annotations

import os
import pickle
import zlib
from pathlib import Path

import pytest

from emergence.v1 import snapshot_pb2
from engine.core.entries import state_digest
from engine.simulation import deserialize_state, serialize_state
from engine.snapshot import MAGIC, SnapshotFormatError
from tests.sim.driver import run
from tests.sim.test_engine_determinism import busy
from tests.sim.world_builder import make_world


class Planted:
    """A pickle that, loaded, creates a file: what a hostile snapshot would do instead."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_a_world_round_trips_exactly_and_deterministically() -> None:
    state = make_world(agents=6, seed=3)
    run(state, 30, busy)
    payload = serialize_state(state)
    assert payload.startswith(MAGIC) and b"\x80\x05" not in payload[: len(MAGIC) + 2]
    restored = deserialize_state(payload)
    assert serialize_state(restored) == payload
    assert restored.tick == state.tick and state_digest(restored) == state_digest(state)
    assert restored.agents.keys() == state.agents.keys()


def test_an_old_pickled_snapshot_is_refused_without_being_loaded(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = zlib.compress(pickle.dumps(Planted(marker)), 3)
    with pytest.raises(SnapshotFormatError, match="old pickled format") as raised:
        deserialize_state(payload)
    assert "re-run the experiment from its seed" in str(raised.value)
    assert not marker.exists()
    with pytest.raises(SnapshotFormatError, match="not an Emergence snapshot"):
        deserialize_state(pickle.dumps(Planted(marker)))
    assert not marker.exists()


def forged(state: snapshot_pb2.SnapshotValue, version: int = 1) -> bytes:
    snapshot = snapshot_pb2.WorldSnapshot(format_version=version, tick=1, state=state)
    return MAGIC + zlib.compress(snapshot.SerializeToString())


@pytest.mark.parametrize("type_name", ["os.system", "builtins.eval", "subprocess.Popen",
                                       "engine.core.state.hashlib", "engine.snapshot.Path"])  # fmt: skip
def test_records_may_name_only_engine_core_dataclasses(type_name: str) -> None:
    value = snapshot_pb2.SnapshotValue(
        record_value=snapshot_pb2.SnapshotRecord(type=type_name, field_names=["x"])
    )
    value.record_value.values.add().string_value = "rm -rf /"
    with pytest.raises(SnapshotFormatError, match="not an engine core type"):
        deserialize_state(forged(value))


def test_unknown_versions_fields_and_bombs_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    state = make_world(agents=2, seed=1)
    tree = snapshot_pb2.WorldSnapshot.FromString(
        zlib.decompress(serialize_state(state)[len(MAGIC) :])
    ).state
    with pytest.raises(SnapshotFormatError, match="format 2"):
        deserialize_state(forged(tree, version=2))
    tree.record_value.field_names[0] = "__class__"
    with pytest.raises(SnapshotFormatError, match="has no field"):
        deserialize_state(forged(tree))
    monkeypatch.setattr("engine.snapshot.MAX_SNAPSHOT_BYTES", 1 << 20)
    bomb = MAGIC + zlib.compress(b"\x00" * (1 << 24), 9)  # 16 MB of zeros in 16 KB
    with pytest.raises(SnapshotFormatError, match="more than 1048576 bytes"):
        deserialize_state(bomb)
    with pytest.raises(SnapshotFormatError, match="corrupt"):
        deserialize_state(MAGIC + b"not zlib")
    with pytest.raises(SnapshotFormatError, match="not hold a world"):
        deserialize_state(forged(snapshot_pb2.SnapshotValue(string_value="hi")))
