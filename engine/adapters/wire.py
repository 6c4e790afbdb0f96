"""Protobuf wire-format pieces for messages assembled from bytes serialized beforehand."""

from __future__ import annotations


def varint(value: int) -> bytes:
    """A non-negative integer as a protobuf base-128 varint (tags, lengths, int fields)."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
