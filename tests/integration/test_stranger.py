"""Every RPC of every public service, called as a stranger would: an empty request, then hostile
values (70 kB strings, NUL bytes, invalid UTF-8, extreme numbers, long lists). Each answers a
proper status within seconds: never INTERNAL or UNKNOWN, never a unary call left hanging."""

from __future__ import annotations

import asyncio
import math
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from emergence.mesh.settings import load_settings
from emergence.v1 import (
    engine_service_pb2,
    experiments_service_pb2,
    ledger_service_pb2,
    observer_service_pb2,
    operator_service_pb2,
    runner_service_pb2,
)
from engine.app import create_engine
from ledger_service.app import create_ledger_server
from observer_service.app import create_observer_server
from tests.observed_run import heuristic_runner

pytestmark = [pytest.mark.timeout(240), pytest.mark.asyncio(loop_scope="module")]
TOKEN = "stranger-test-operator-token"
BAD = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
LONG = "x" * 70_000
UNARY_SECONDS = 10.0
STREAM_SECONDS = 3.0


def free_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


@dataclass(frozen=True)
class Target:
    service: ServiceDescriptor
    address: str
    metadata: tuple[tuple[str, str], ...] = ()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def targets(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[list[Target]]:
    """Ledger, engine (Operator, Experiments, WorldEngine, Observer), standalone Observer and a
    runner's status service, all in this process over loopback."""
    folder: Path = tmp_path_factory.mktemp("stranger")
    store_url = f"sqlite:///{folder / 'history.sqlite'}"
    ledger = await create_ledger_server("127.0.0.1:0", f"sqlite:///{folder / 'ledger.sqlite'}")
    settings = load_settings(
        environ={}, overrides={"run.agents": 3, "operator_api_token": TOKEN, "run.ticks": 100}
    )
    engine = await create_engine(settings, ledger_address=ledger.address, store_url=store_url)
    observer = await create_observer_server("127.0.0.1:0", store_url)
    status_address = free_address()
    assert engine.server is not None
    try:
        async with heuristic_runner(engine.server.address, status_address):
            await engine.hub.wait_for_runners(1, timeout_seconds=10)
            bearer = (("authorization", f"Bearer {TOKEN}"),)
            yield [
                Target(_service(observer_service_pb2, "Observer"), observer.address),
                Target(_service(observer_service_pb2, "Observer"), engine.server.address),
                Target(_service(operator_service_pb2, "Operator"), engine.server.address, bearer),
                Target(_service(operator_service_pb2, "Operator"), engine.server.address),
                Target(
                    _service(experiments_service_pb2, "Experiments"), engine.server.address, bearer
                ),
                Target(_service(ledger_service_pb2, "Ledger"), ledger.address),
                Target(_service(runner_service_pb2, "Runner"), status_address),
                Target(_service(engine_service_pb2, "WorldEngine"), engine.server.address),
            ]
    finally:
        await observer.close()
        await engine.close()
        await ledger.close()


def _service(module: Any, name: str) -> ServiceDescriptor:
    service: ServiceDescriptor = module.DESCRIPTOR.services_by_name[name]
    return service


# ----- hostile requests, built from the descriptors -----------------------------------------
EXTREMES: dict[int, list[Any]] = {
    FieldDescriptor.TYPE_INT32: [2**31 - 1, -(2**31)],
    FieldDescriptor.TYPE_SINT32: [2**31 - 1, -(2**31)],
    FieldDescriptor.TYPE_SFIXED32: [2**31 - 1, -(2**31)],
    FieldDescriptor.TYPE_INT64: [2**63 - 1, -(2**63)],
    FieldDescriptor.TYPE_SINT64: [2**63 - 1, -(2**63)],
    FieldDescriptor.TYPE_SFIXED64: [2**63 - 1, -(2**63)],
    FieldDescriptor.TYPE_UINT32: [2**32 - 1],
    FieldDescriptor.TYPE_FIXED32: [2**32 - 1],
    FieldDescriptor.TYPE_UINT64: [2**64 - 1],
    FieldDescriptor.TYPE_FIXED64: [2**64 - 1],
    FieldDescriptor.TYPE_DOUBLE: [math.nan, math.inf, -1e308],
    FieldDescriptor.TYPE_FLOAT: [math.nan, -math.inf],
}


def hostile_value(field: FieldDescriptor, kind: str, index: int) -> Any:
    if field.type == FieldDescriptor.TYPE_STRING:
        return {"long": LONG, "nul": "run\x00id", "many": f"id-{index}"}.get(kind, "?")
    if field.type == FieldDescriptor.TYPE_BYTES:
        return b"\x00\xff" * (35_000 if kind == "long" else 1)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return True
    if field.type == FieldDescriptor.TYPE_ENUM:
        return 999 if kind == "extreme" else 1
    choices = EXTREMES.get(field.type, [0])
    return choices[index % len(choices)] if kind == "extreme" else 1


def fill(message: Message, kind: str, depth: int = 0) -> Message:
    for index, field in enumerate(message.DESCRIPTOR.fields):
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key_field = field.message_type.fields_by_name["key"]
            value_field = field.message_type.fields_by_name["value"]
            if value_field.message_type is None:
                getattr(message, field.name)[hostile_value(key_field, kind, index)] = hostile_value(
                    value_field, kind, index
                )
            continue
        count = 1000 if kind == "many" else 1
        if field.message_type is not None:
            if depth >= 3 or field.message_type.full_name.startswith("google.protobuf"):
                continue
            if field.is_repeated:
                for _ in range(min(count, 50)):
                    fill(getattr(message, field.name).add(), kind, depth + 1)
            else:
                fill(getattr(message, field.name), kind, depth + 1)
        elif field.is_repeated:
            getattr(message, field.name).extend(
                hostile_value(field, kind, index + item) for item in range(count)
            )
        else:
            setattr(message, field.name, hostile_value(field, kind, index))
    return message


def invalid_utf8(message_type: Any) -> bytes | None:
    """Wire bytes with invalid UTF-8 in the first text field (a client in another language)."""
    for field in message_type.DESCRIPTOR.fields:
        if field.type == FieldDescriptor.TYPE_STRING and not field.is_repeated:
            return bytes([field.number << 3 | 2, 3]) + b"\xff\xfe\xfd"
    return None


def requests(method: MethodDescriptor) -> Iterator[tuple[str, bytes]]:
    message_type = GetMessageClass(method.input_type)
    yield "empty", b""
    for kind in ("long", "nul", "extreme", "many"):
        yield kind, fill(message_type(), kind).SerializeToString()
    broken = invalid_utf8(message_type)
    if broken is not None:
        yield "invalid-utf8", broken


# ----- calling ---------------------------------------------------------------------------------
async def call(
    channel: grpc.aio.Channel, target: Target, method: MethodDescriptor, body: bytes
) -> grpc.StatusCode:
    path = f"/{target.service.full_name}/{method.name}"
    identity: Callable[[bytes], bytes] = lambda data: data  # noqa: E731
    metadata = list(target.metadata)
    if not method.client_streaming and not method.server_streaming:
        unary = channel.unary_unary(
            path, request_serializer=identity, response_deserializer=identity
        )
        return await _status(unary(body, timeout=UNARY_SECONDS, metadata=metadata))
    if method.client_streaming:
        stream = channel.stream_stream(
            path, request_serializer=identity, response_deserializer=identity
        )
        reply = stream(iter([body]), timeout=UNARY_SECONDS, metadata=metadata)
    else:
        server = channel.unary_stream(
            path, request_serializer=identity, response_deserializer=identity
        )
        reply = server(body, timeout=UNARY_SECONDS, metadata=metadata)
    try:
        await asyncio.wait_for(anext(aiter(reply), None), STREAM_SECONDS)
    except TimeoutError:
        reply.cancel()  # a live subscription waiting for the future is not a failure
        return grpc.StatusCode.OK
    except grpc.aio.AioRpcError as error:
        return error.code()
    reply.cancel()
    return grpc.StatusCode.OK


async def _status(pending: Any) -> grpc.StatusCode:
    try:
        await pending
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def test_every_rpc_of_every_public_service_answers_strangers_properly(
    targets: list[Target],
) -> None:
    failures: list[str] = []
    calls = 0
    for target in targets:
        async with grpc.aio.insecure_channel(target.address) as channel:
            for method in target.service.methods:
                for kind, body in requests(method):
                    code = await call(channel, target, method, body)
                    calls += 1
                    if code in BAD or (
                        code == grpc.StatusCode.DEADLINE_EXCEEDED and not method.server_streaming
                    ):
                        auth = " (with token)" if target.metadata else ""
                        failures.append(f"{target.service.name}.{method.name}{auth} {kind}: {code}")
    assert calls > 150
    assert not failures, "\n".join(failures)
