"""Reproducible UUIDv7-shaped ids: the time field is the tick, the random bits come from the run seed."""

from __future__ import annotations

import hashlib
import random
import uuid


def derive_rng(seed: int, tick: int, purpose: str) -> random.Random:
    """A Random for one (seed, tick, purpose): the same inputs give the same stream on every machine."""
    digest = hashlib.sha256(f"{seed}:{tick}:{purpose}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def uuid7_shaped(milliseconds: int, random_bits: int) -> str:
    """Lay out a UUID the way RFC 9562 version 7 does: 48-bit time, version 7, variant 10, 74 random bits."""
    value = (milliseconds & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((random_bits >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= random_bits & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


class SeededIds:
    """Id generator for one run. The tick stands in for the timestamp so ids sort by tick."""

    def __init__(self, seed: int, namespace: str = "ids") -> None:
        self._seed = seed
        self._namespace = namespace
        self._counter = 0

    def next(self, tick: int) -> str:
        self._counter += 1
        digest = hashlib.sha256(f"{self._seed}:{self._namespace}:{self._counter}".encode()).digest()
        return uuid7_shaped(tick, int.from_bytes(digest[:10], "big"))

    @property
    def counter(self) -> int:
        return self._counter

    @counter.setter
    def counter(self, value: int) -> None:
        self._counter = value


def run_id_for(seed: int, salt: str = "") -> str:
    """A run id derived from the seed (and an optional salt such as a fork point)."""
    digest = hashlib.sha256(f"run:{seed}:{salt}".encode()).digest()
    return uuid7_shaped(0, int.from_bytes(digest[:10], "big"))


def positional_id(seed: int, kind: str, tick: int, position: int) -> str:
    """A stateless id for the `position`-th thing of `kind` in `tick`: replay needs no counters."""
    digest = hashlib.sha256(f"{seed}:{kind}:{tick}:{position}".encode()).digest()
    return uuid7_shaped(tick, int.from_bytes(digest[:10], "big"))
