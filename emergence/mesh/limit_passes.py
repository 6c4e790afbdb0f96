"""One compiled pass/fail test per message type, true exactly when `check_fields` would pass.

`check_fields` walks a message by reflection (`ListFields`, a closure per field, a path string
per nested message) so that a violation can be named; the engine runs it on every decision of
every tick, where it cost more than parsing the decisions and as much as the brain's answer
travelling both ways. Nearly every message passes, so the verdict comes first from straight-line
code generated once per message type (attribute reads and comparisons, no allocation); only a
message that fails it goes through `check_fields`, which raises with the readable reason.

The generated test reads every field, set or not: an unset proto3 field holds its default
(empty text, zero, the enum's zero value, an empty list), which every limit accepts, so reading
it changes no verdict. Maps are left to `check_fields` (a message with a non-empty map fails the
fast test and is judged there).
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from emergence.mesh.limits import (
    _FLOAT_TYPES,
    _INTEGER_TYPES,
    LIMITS,
    PeerLimits,
    _is_id_field,
    _text_limit,
    number_bounds,
)

Passes = Callable[[Message], bool]

_COMPILED: dict[tuple[str, PeerLimits], Passes] = {}


def passes_limits(message: Message, limits: PeerLimits = LIMITS) -> bool:
    """True when `check_fields(message, ..., limits)` would raise nothing (False: ask it why)."""
    descriptor: Descriptor = message.DESCRIPTOR  # type: ignore[assignment]
    return passes_for(descriptor, limits)(message)


def passes_for(descriptor: Descriptor, limits: PeerLimits = LIMITS) -> Passes:
    """The compiled test of `descriptor`'s messages (and, on first use, of every type in it)."""
    key = (descriptor.full_name, limits)
    compiled = _COMPILED.get(key)
    if compiled is None:
        _compile_all(descriptor, limits)
        compiled = _COMPILED[key]
    return compiled


def _compile_all(root: Descriptor, limits: PeerLimits) -> None:
    """Compile `root` and every message type it reaches (recursive types included): the
    generated code finds nested types' tests in a shared table when it runs."""
    table: dict[str, Passes] = {}
    pending, seen = [root], {root.full_name}
    sources: list[tuple[Descriptor, str, dict[str, Any]]] = []
    while pending:
        descriptor = pending.pop()
        source, constants, nested = _source(descriptor, limits)
        sources.append((descriptor, source, constants))
        for child in nested:
            if child.full_name not in seen:
                seen.add(child.full_name)
                pending.append(child)
    for descriptor, source, constants in sources:
        namespace: dict[str, Any] = {"T": table, **constants}
        exec(
            compile(source, f"<limit passes {descriptor.full_name}>", "exec"), namespace
        )  # code generated from our own descriptors
        table[descriptor.full_name] = namespace["passes"]
    for name, compiled in table.items():
        _COMPILED.setdefault((name, limits), compiled)


def _type_of(field: FieldDescriptor) -> Descriptor:
    assert field.message_type is not None
    return field.message_type


def _read(name: str) -> str:
    return f"getattr(m, {name!r})" if keyword.iskeyword(name) else f"m.{name}"


def _source(
    descriptor: Descriptor, limits: PeerLimits
) -> tuple[str, dict[str, Any], list[Descriptor]]:
    """`def passes(m): return <one expression>`: a conjunction of every field's test."""
    tests: list[str] = []
    constants: dict[str, Any] = {}
    nested: list[Descriptor] = []
    oneof_members: dict[str, list[FieldDescriptor]] = {}
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if (
            oneof is not None
            and len(oneof.fields) > 1
            and all(f.type == FieldDescriptor.TYPE_MESSAGE for f in oneof.fields)
        ):
            oneof_members.setdefault(oneof.name, []).append(field)
            continue
        test = _field_test(field, limits, constants, nested)
        if test:
            tests.append(test)
    for oneof_name, members in oneof_members.items():
        # Only the set member is read: touching the others would build their empty defaults.
        table_name = f"ONEOF_{len(constants)}"
        constants[table_name] = {member.name: _type_of(member).full_name for member in members}
        nested.extend(_type_of(member) for member in members)
        tests.append(
            f"((k := m.WhichOneof({oneof_name!r})) is None or T[{table_name}[k]](getattr(m, k)))"
        )
    body = "\n        and ".join(tests) or "True"
    return f"def passes(m):\n    return (\n        {body}\n    )\n", constants, nested


def _field_test(
    field: FieldDescriptor,
    limits: PeerLimits,
    constants: dict[str, Any],
    nested: list[Descriptor],
) -> str:
    """An expression true when the field of `m` passes ("" when every value does)."""
    name, read = field.name, _read(field.name)
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return f"not len({read})"
    if field.is_repeated:
        limit = limits.flags if name == "containment_flags" else limits.items
        item_test = _value_test("x", "x", field, limits, constants, nested)
        if not item_test:
            return f"len({read}) <= {limit}"
        return f"(len(v := {read}) <= {limit} and (not v or all({item_test} for x in v)))"
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        nested.append(_type_of(field))
        return f"(not m.HasField({name!r}) or T[{_type_of(field).full_name!r}]({read}))"
    test = _value_test(f"(v := {read})", "v", field, limits, constants, nested)
    return f"({test})" if test else ""


def _value_test(
    first: str,
    again: str,
    field: FieldDescriptor,
    limits: PeerLimits,
    constants: dict[str, Any],
    nested: list[Descriptor],
) -> str:
    """An expression true when one value of `field` passes ("" when every value does): the
    same verdict as `limits._scalar_passes`, and as `check_fields` on a nested message. The
    value is `first` where the expression reads it first, `again` after that."""
    kind, name = field.type, field.name
    if kind == FieldDescriptor.TYPE_MESSAGE:
        nested.append(_type_of(field))
        return f"T[{_type_of(field).full_name!r}]({first})"
    if kind == FieldDescriptor.TYPE_STRING:
        test = f"len({first}) <= {_text_limit(name, limits)} and '\\x00' not in {again}"
        return test + (f" and {again}.isprintable()" if _is_id_field(name) else "")
    if kind == FieldDescriptor.TYPE_BYTES:
        return f"len({first}) <= {limits.long_text_chars}"
    if kind == FieldDescriptor.TYPE_ENUM and field.enum_type is not None:
        known = f"KNOWN_{len(constants)}"
        constants[known] = frozenset(field.enum_type.values_by_number)
        return f"{first} in {known}"
    if kind in _INTEGER_TYPES or kind in _FLOAT_TYPES:
        low, high = number_bounds(field, limits)
        # NaN fails both comparisons and infinities the bound, as in `_scalar_passes`.
        return f"{low!r} <= {first} <= {high!r}"
    return ""
