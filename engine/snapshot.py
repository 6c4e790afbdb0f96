"""Snapshot format: the core state as a versioned protobuf tree of values (data, never code).

A snapshot is `MAGIC` + zlib(WorldSnapshot). The state is written as typed values – numbers,
text, lists, tuples, sets, mappings – and records of the engine core's own dataclasses, named by
module and class. Reading rebuilds only those: a record must name a dataclass of an already
loaded `engine.core` module and only its declared fields, so a stored or handed-over snapshot
can make data and nothing else (the pickles used before could run any code on load; they are
refused with a message saying what to do). A field added to a core class later takes its
default when an older snapshot lacks it.
"""

from __future__ import annotations

import dataclasses
import sys
import zlib
from typing import Any

from emergence.mesh.errors import FailedPrecondition
from emergence.v1 import snapshot_pb2
from engine.core import tick as _core_tick  # noqa: F401 - loads every core module a record may name
from engine.core.state import WorldState

MAGIC = b"EMERGENCE-SNAPSHOT\n"
FORMAT_VERSION = 1
# A decompressed snapshot larger than this is refused (a zip bomb is not a world).
MAX_SNAPSHOT_BYTES = 1 << 30
CORE_PACKAGE = "engine.core."
_INT64 = 1 << 63


class SnapshotFormatError(FailedPrecondition):
    """A payload that is not a snapshot this version can read (or one that would run code)."""


def serialize_state(state: WorldState) -> bytes:
    """The world as a snapshot payload (the same state always gives the same bytes)."""
    snapshot = snapshot_pb2.WorldSnapshot(format_version=FORMAT_VERSION, tick=state.tick)
    _encode(state, snapshot.state)
    return MAGIC + zlib.compress(snapshot.SerializeToString(deterministic=True), 3)


def deserialize_state(payload: bytes) -> WorldState:
    """The world a snapshot payload holds; SnapshotFormatError for anything else."""
    snapshot = _envelope(payload)
    state = _decode(snapshot.state)
    if not isinstance(state, WorldState):
        raise SnapshotFormatError("the snapshot does not hold a world state")
    return state


# ----- writing -----------------------------------------------------------------------------------
def _encode(value: Any, out: snapshot_pb2.SnapshotValue) -> None:
    if value is None:
        out.none = True
    elif isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        if -_INT64 <= value < _INT64:
            out.int_value = value
        else:
            out.big_int_value = str(value)
    elif isinstance(value, float):
        out.float_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, list):
        _encode_items(value, out.list_value)
    elif isinstance(value, tuple):
        _encode_items(value, out.tuple_value)
    elif isinstance(value, frozenset):
        _encode_items(_ordered(value), out.frozenset_value)
    elif isinstance(value, set):
        _encode_items(_ordered(value), out.set_value)
    elif isinstance(value, dict):
        out.map_value.SetInParent()
        for key, item in value.items():
            _encode(key, out.map_value.keys.add())
            _encode(item, out.map_value.values.add())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        _encode_record(value, out.record_value)
    else:
        raise TypeError(f"a snapshot cannot hold a {type(value).__qualname__}")


def _encode_items(values: Any, out: snapshot_pb2.SnapshotItems) -> None:
    out.SetInParent()  # an empty collection is still a collection
    for item in values:
        _encode(item, out.items.add())


def _ordered(values: set[Any] | frozenset[Any]) -> list[Any]:
    """Sets in sorted order where possible, so one state gives one byte string."""
    try:
        return sorted(values)
    except TypeError:
        return list(values)


def _encode_record(value: Any, out: snapshot_pb2.SnapshotRecord) -> None:
    kind = type(value)
    if not kind.__module__.startswith(CORE_PACKAGE):
        raise TypeError(f"a snapshot holds only engine core records, not {kind.__qualname__}")
    out.type = f"{kind.__module__}.{kind.__qualname__}"
    for field in dataclasses.fields(value):
        out.field_names.append(field.name)
        _encode(getattr(value, field.name), out.values.add())


# ----- reading -----------------------------------------------------------------------------------
def _envelope(payload: bytes) -> snapshot_pb2.WorldSnapshot:
    if not payload.startswith(MAGIC):
        if payload[:1] == b"\x78":  # a zlib stream: the pickled snapshots of earlier versions
            raise SnapshotFormatError(
                "this snapshot is in the old pickled format, which is no longer read because "
                "loading it could run code",
                hint="re-run the experiment from its seed with this version (the same seed "
                "gives the same history), or read it with the release that wrote it",
            )
        raise SnapshotFormatError("the payload is not an Emergence snapshot")
    inflater = zlib.decompressobj()
    limit = MAX_SNAPSHOT_BYTES
    try:
        raw = inflater.decompress(payload[len(MAGIC) :], limit)
    except zlib.error as error:
        raise SnapshotFormatError(f"the snapshot is corrupt: {error}") from error
    if inflater.unconsumed_tail:
        raise SnapshotFormatError(f"the snapshot unpacks to more than {limit} bytes")
    snapshot = snapshot_pb2.WorldSnapshot()
    try:
        snapshot.ParseFromString(raw)
    except Exception as error:  # DecodeError, or a tree nested beyond protobuf's recursion limit
        raise SnapshotFormatError(f"the snapshot is corrupt: {error}") from error
    if snapshot.format_version != FORMAT_VERSION:
        raise SnapshotFormatError(
            f"snapshot format {snapshot.format_version} is not one this version reads "
            f"({FORMAT_VERSION})",
            hint="read it with the release that wrote it",
        )
    return snapshot


def _decode(value: snapshot_pb2.SnapshotValue) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "none":
        return None
    if kind in ("bool_value", "int_value", "string_value"):
        return getattr(value, kind)
    if kind == "float_value":
        return float(value.float_value)
    if kind == "big_int_value":
        if len(value.big_int_value) > 4_300 or not value.big_int_value.lstrip("-").isdigit():
            raise SnapshotFormatError("a snapshot number is not a whole number")
        return int(value.big_int_value)
    if kind == "list_value":
        return [_decode(item) for item in value.list_value.items]
    if kind == "tuple_value":
        return tuple(_decode(item) for item in value.tuple_value.items)
    if kind == "set_value":
        return {_hashable(_decode(item)) for item in value.set_value.items}
    if kind == "frozenset_value":
        return frozenset(_hashable(_decode(item)) for item in value.frozenset_value.items)
    if kind == "map_value":
        entries = value.map_value
        if len(entries.keys) != len(entries.values):
            raise SnapshotFormatError("a snapshot mapping has keys without values")
        return {
            _hashable(_decode(key)): _decode(item)
            for key, item in zip(entries.keys, entries.values, strict=True)
        }
    if kind == "record_value":
        return _decode_record(value.record_value)
    raise SnapshotFormatError("a snapshot value is empty")


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError as error:
        raise SnapshotFormatError("a snapshot set or mapping key is not hashable") from error
    return value


def _core_class(name: str) -> type:
    """The core dataclass a record names; nothing is imported, only looked up."""
    module_name, _, class_name = name.rpartition(".")
    module = sys.modules.get(module_name) if module_name.startswith(CORE_PACKAGE) else None
    kind = getattr(module, class_name, None) if module is not None else None
    if not (isinstance(kind, type) and dataclasses.is_dataclass(kind)):
        raise SnapshotFormatError(f"a snapshot record names {name[:80]!r}, not an engine core type")
    return kind


def _decode_record(record: snapshot_pb2.SnapshotRecord) -> Any:
    kind = _core_class(record.type)
    declared = {field.name: field for field in dataclasses.fields(kind)}
    if len(record.field_names) != len(record.values):
        raise SnapshotFormatError(f"a {kind.__qualname__} record has names without values")
    instance: Any = object.__new__(kind)
    given = set()
    for name, item in zip(record.field_names, record.values, strict=True):
        if name not in declared:
            raise SnapshotFormatError(f"{kind.__qualname__} has no field {name[:80]!r}")
        object.__setattr__(instance, name, _decode(item))
        given.add(name)
    for name, field in declared.items():
        if name not in given:
            object.__setattr__(instance, name, _default(kind, field))
    return instance


def _default(kind: type, field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    raise SnapshotFormatError(f"the snapshot lacks {kind.__qualname__}.{field.name}")


__all__ = ["SnapshotFormatError", "deserialize_state", "serialize_state"]
