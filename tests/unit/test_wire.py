"""The wire-format varint used to assemble messages from bytes serialized beforehand matches
protobuf's own encoding."""

from __future__ import annotations

import pytest

from emergence.v1 import perception_pb2
from engine.adapters.wire import varint


@pytest.mark.parametrize("tick", [0, 1, 127, 128, 300, 16_383, 16_384, 2**31 - 1, 2**63 - 1])
def test_a_varint_field_reads_back_as_protobuf_wrote_it(tick: int) -> None:
    written = perception_pb2.Perception(tick=tick).SerializeToString()
    tag = perception_pb2.Perception.DESCRIPTOR.fields_by_name["tick"].number << 3
    assembled = varint(tag) + varint(tick) if tick else b""
    assert assembled == written
    assert perception_pb2.Perception.FromString(assembled).tick == tick
