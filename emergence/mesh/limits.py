"""Size and range limits on every field of a message a peer sent, checked by reflection.

Walks every set field of a protobuf message, however deep: text length (ids shorter than free
text, free text shorter than a model's reasoning), NUL characters, item counts of repeated
fields, finite and bounded numbers, known enum values. A violation is InvalidArgument naming
the field path and quoting at most a short slice of the value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from emergence.mesh.errors import InvalidArgument
from emergence.mesh.validation import quoted

QUOTED_CHARS = 40


@dataclass(frozen=True)
class PeerLimits:
    """Upper bounds on what one peer message may carry (characters, items, numbers); the
    defaults fit a runner's decisions."""

    id_chars: int = 128
    text_chars: int = 4_000  # an agent's message, prayer, rule or name
    long_text_chars: int = 16_000  # reasoning, raw model reply, the text that raised a flag
    items: int = 256  # any repeated field (ids, amounts)
    flags: int = 32
    tokens: int = 10_000_000  # per decision; the store's int32 columns hold 2 147 483 647
    cost_usd: float = 1_000.0
    latency_ms: float = 86_400_000.0  # one day
    quantity: int = 1_000_000
    whole_number: int = 2**31 - 1  # any other integer field
    hello_text_chars: int = 1_024


LIMITS = PeerLimits()

_LONG_TEXT_FIELDS = frozenset({"reasoning", "raw_response", "containment_text"})
_NUMBER_LIMITS: Mapping[str, str] = {
    "tokens_in": "tokens",
    "tokens_out": "tokens",
    "cost_usd": "cost_usd",
    "latency_ms": "latency_ms",
    "quantity": "quantity",
}
_INTEGER_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED32, FieldDescriptor.TYPE_SFIXED64,
    }
)  # fmt: skip
_FLOAT_TYPES = frozenset({FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT})


def quote(value: object) -> str:
    """A short, printable slice of a peer's value for an error message."""
    return quoted(str(value), QUOTED_CHARS)


def _is_id_field(name: str) -> bool:
    return name == "id" or name.endswith(("_id", "_ids"))


def _text_limit(name: str, limits: PeerLimits) -> int:
    if _is_id_field(name):
        return limits.id_chars
    if name in _LONG_TEXT_FIELDS:
        return limits.long_text_chars
    if name == "containment_flags":
        return limits.id_chars
    return limits.text_chars


def _check_text(path: str, name: str, value: str, limits: PeerLimits) -> None:
    limit = _text_limit(name, limits)
    if len(value) > limit:
        raise InvalidArgument(f"{path}: at most {limit} characters, got {quote(value)}")
    if "\x00" in value:
        raise InvalidArgument(f"{path}: NUL characters are not allowed, got {quote(value)}")
    if _is_id_field(name) and not value.isprintable():
        raise InvalidArgument(f"{path}: an id must be printable text, got {quote(value)}")


def _check_number(path: str, name: str, value: float, kind: int, limits: PeerLimits) -> None:
    if kind in _FLOAT_TYPES and not math.isfinite(value):
        raise InvalidArgument(f"{path}: must be a finite number, got {value}")
    limit = getattr(limits, _NUMBER_LIMITS.get(name, "whole_number"))
    if kind in _FLOAT_TYPES and name not in _NUMBER_LIMITS:
        limit = float(limits.whole_number)
    if value < 0 and name in _NUMBER_LIMITS:
        raise InvalidArgument(f"{path}: must not be negative, got {value}")
    if abs(value) > limit:
        raise InvalidArgument(f"{path}: at most {limit}, got {value}")


def _check_scalar(path: str, field: FieldDescriptor, value: object, limits: PeerLimits) -> None:
    if field.type == FieldDescriptor.TYPE_STRING:
        _check_text(path, field.name, str(value), limits)
    elif field.type == FieldDescriptor.TYPE_BYTES:
        if len(value) > limits.long_text_chars:  # type: ignore[arg-type]
            raise InvalidArgument(f"{path}: at most {limits.long_text_chars} bytes")
    elif field.type == FieldDescriptor.TYPE_ENUM and field.enum_type is not None:
        if field.enum_type.values_by_number.get(int(value)) is None:  # type: ignore[call-overload]
            raise InvalidArgument(
                f"{path}: {value} is not a {field.enum_type.name} value this engine knows"
            )
    elif field.type in _INTEGER_TYPES or field.type in _FLOAT_TYPES:
        _check_number(path, field.name, value, field.type, limits)  # type: ignore[arg-type]


def check_fields(message: Message, path: str, limits: PeerLimits = LIMITS) -> None:
    """Every set field of `message`, recursively: text sizes, item counts, number ranges, enums."""
    checks = _DEFAULT_CHECKS if limits is LIMITS else _OTHER_CHECKS.setdefault(limits, {})
    for field, value in message.ListFields():
        check = checks.get(field)
        if check is None:
            check = checks[field] = _compile(field, limits)
        check(value, path)


# One check per field (and limits), made on first use: the engine checks every decision of every
# tick, and working out each field's kind and limit from its descriptor every time (and naming
# its path before knowing whether it is wrong) cost more than the checks themselves. A check
# only decides pass or fail; a failing value is judged again by the readable path below, which
# names the field and says why.
_DEFAULT_CHECKS: dict[FieldDescriptor, Any] = {}
_OTHER_CHECKS: dict[PeerLimits, dict[FieldDescriptor, Any]] = {}


def _compile(field: FieldDescriptor, limits: PeerLimits) -> Any:
    name = field.name
    if field.is_repeated:
        return _compile_repeated(field, limits)
    if field.type == FieldDescriptor.TYPE_MESSAGE:

        def nested(value: Message, path: str) -> None:
            check_fields(value, f"{path}.{name}", limits)

        return nested
    if field.type == FieldDescriptor.TYPE_STRING:  # most fields: the test inlined
        text_limit, is_id = _text_limit(name, limits), _is_id_field(name)

        def text(value: str, path: str) -> None:
            if len(value) > text_limit or "\x00" in value or (is_id and not value.isprintable()):
                _check_scalar(f"{path}.{name}", field, value, limits)

        return text
    passes = _scalar_passes(field, limits)

    def scalar(value: object, path: str) -> None:
        if not passes(value):
            _check_scalar(f"{path}.{name}", field, value, limits)

    return scalar


def _compile_repeated(field: FieldDescriptor, limits: PeerLimits) -> Any:
    name = field.name
    limit = limits.flags if name == "containment_flags" else limits.items
    is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
    is_message = field.type == FieldDescriptor.TYPE_MESSAGE
    passes = None if is_map or is_message else _scalar_passes(field, limits)

    def repeated(value: Any, path: str) -> None:
        where = f"{path}.{name}"
        if len(value) > limit:
            raise InvalidArgument(f"{where}: at most {limit} items, got {len(value)}")
        if is_map:
            _check_map(where, field, value, limits)
        elif passes is None:
            for index, item in enumerate(value):
                check_fields(item, f"{where}[{index}]", limits)
        else:
            for index, item in enumerate(value):
                if not passes(item):
                    _check_scalar(f"{where}[{index}]", field, item, limits)

    return repeated


def _scalar_passes(field: FieldDescriptor, limits: PeerLimits) -> Any:
    """A predicate true when `_check_scalar` would accept the value (false: let it say why)."""
    kind, name = field.type, field.name
    if kind == FieldDescriptor.TYPE_STRING:
        text_limit, is_id = _text_limit(name, limits), _is_id_field(name)
        return lambda value: (
            len(value) <= text_limit and "\x00" not in value and (not is_id or value.isprintable())
        )
    if kind == FieldDescriptor.TYPE_BYTES:
        return lambda value: len(value) <= limits.long_text_chars
    if kind == FieldDescriptor.TYPE_ENUM and field.enum_type is not None:
        known = frozenset(field.enum_type.values_by_number)
        return lambda value: value in known
    if kind in _INTEGER_TYPES or kind in _FLOAT_TYPES:
        low, high = number_bounds(field, limits)
        # NaN fails every comparison, infinities fail the bound.
        return lambda value: low <= value <= high
    return lambda value: True


def number_bounds(field: FieldDescriptor, limits: PeerLimits) -> tuple[float, float]:
    """The lowest and highest value a number field passes: a named limit from 0, else the
    whole-number bound either way (a float field without a named limit: as a float)."""
    bounded = field.name in _NUMBER_LIMITS
    high = getattr(limits, _NUMBER_LIMITS.get(field.name, "whole_number"))
    if field.type in _FLOAT_TYPES and not bounded:
        high = float(limits.whole_number)
    return (0 if bounded else -high), high


def _check_map(path: str, field: FieldDescriptor, mapping: Any, limits: PeerLimits) -> None:
    """A map field: its keys and values, each checked like a field of the entry type."""
    assert field.message_type is not None
    key_field = field.message_type.fields_by_name["key"]
    value_field = field.message_type.fields_by_name["value"]
    for key, value in mapping.items():
        where = f"{path}[{quote(key)}]"
        _check_scalar(where, key_field, key, limits)
        if value_field.type == FieldDescriptor.TYPE_MESSAGE:
            check_fields(value, where, limits)
        else:
            _check_scalar(where, value_field, value, limits)
