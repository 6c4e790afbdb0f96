"""Perception batches the hub builds from serialized perceptions are the messages runners read."""

from __future__ import annotations

from emergence.v1 import engine_service_pb2
from engine.adapters.runner_hub import perception_batch_message, serialize_response
from tests.sim.world_builder import make_world
from tests.unit.test_runner_fixtures import perceptions


def test_a_batch_of_serialized_perceptions_reads_as_the_batch_message() -> None:
    views = list(perceptions(make_world(5, 3)).values())
    for tick, chosen, last in ((1, views, True), (300, views[:2], False), (2**40, [], True)):
        payloads = [view.SerializeToString() for view in chosen]
        read = engine_service_pb2.ConnectResponse.FromString(
            perception_batch_message(tick, payloads, last)
        )
        expected = engine_service_pb2.ConnectResponse(
            perceptions=engine_service_pb2.PerceptionBatch(tick=tick, perceptions=chosen, last=last)
        )
        assert read == expected


def test_the_connect_serializer_passes_serialized_batches_and_serializes_messages() -> None:
    message = engine_service_pb2.ConnectResponse(tick_end=engine_service_pb2.TickEnd(tick=4))
    assert serialize_response(message) == message.SerializeToString()
    assert serialize_response(b"\x1a\x00") == b"\x1a\x00"
