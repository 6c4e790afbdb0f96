"""Request checks every service shares: text fields must be clean UTF-8 without NUL bytes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

from emergence.mesh.errors import InvalidArgument

MAX_QUOTED_CHARS = 200
MAX_STATUS_MESSAGE_CHARS = 1000
_LONG_RUN = re.compile(rf"\S{{{MAX_QUOTED_CHARS + 1},}}")


def quoted(text: str, limit: int = MAX_QUOTED_CHARS) -> str:
    """`repr` of at most `limit` characters of some input, saying how much was left out."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text)} characters)"


def shorten_message(message: str) -> str:
    """A status message a proxy can carry: long runs of input cut to a short slice, 1 000 chars max.

    Messages quote the input that was wrong; a 70 kB id must not become a 70 kB grpc-message
    (over HTTP/2's header limits it resets the connection other clients share).
    """
    shortened = _LONG_RUN.sub(
        lambda match: f"{match.group()[:MAX_QUOTED_CHARS]}… ({len(match.group())} characters)",
        message,
    )
    if len(shortened) > MAX_STATUS_MESSAGE_CHARS:
        shortened = shortened[:MAX_STATUS_MESSAGE_CHARS] + "… (message shortened)"
    return shortened


class Undecodable:
    """Stands in for a request whose bytes are not a valid message (e.g. invalid UTF-8 in a string)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def tolerant_deserializer(
    deserialize: Callable[[bytes], Any] | None,
) -> Callable[[bytes], Any] | None:
    """Wrap a request deserializer so bad bytes become `Undecodable` instead of an INTERNAL error."""
    if deserialize is None:
        return None

    def wrapped(data: bytes) -> Any:
        try:
            return deserialize(data)
        except (DecodeError, UnicodeDecodeError, ValueError) as error:
            return Undecodable(str(error))

    return wrapped


def check_request(request: object, *, scan_text: bool = True) -> None:
    """Raise InvalidArgument for undecodable bytes or (unless `scan_text` is false: the servicer
    checks every field itself) a NUL byte in any text field, naming the field."""
    if isinstance(request, Undecodable):
        raise InvalidArgument(
            "the request is not a valid message (is every text field valid UTF-8?): "
            + shorten_message(request.reason),
            hint="send text fields as UTF-8",
        )
    if scan_text and isinstance(request, Message):
        path = _nul_field(request, "")
        if path:
            raise InvalidArgument(
                f"field {path} contains a NUL byte", hint="text fields must not contain \\0"
            )


def _nul_field(message: Message, prefix: str) -> str:
    for field, value in message.ListFields():
        name = f"{prefix}{field.name}"
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            found = _nul_in_map(field, value, name)
        elif field.type == FieldDescriptor.TYPE_STRING:
            items = value if field.is_repeated else [value]
            found = name if any("\x00" in item for item in items) else ""
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            items = value if field.is_repeated else [value]
            found = next((hit for item in items if (hit := _nul_field(item, name + "."))), "")
        else:
            found = ""
        if found:
            return found
    return ""


def _nul_in_map(field: FieldDescriptor, mapping: Any, name: str) -> str:
    entry: Any = field.message_type  # a map field always has its entry type
    value_field = entry.fields_by_name["value"]
    for key, item in mapping.items():
        if isinstance(key, str) and "\x00" in key:
            return f"{name}[key]"
        if value_field.type == FieldDescriptor.TYPE_STRING and "\x00" in item:
            return f"{name}[{shorten_message(str(key))[:40]}]"
        if value_field.type == FieldDescriptor.TYPE_MESSAGE:
            found = _nul_field(item, f"{name}.")
            if found:
                return found
    return ""
