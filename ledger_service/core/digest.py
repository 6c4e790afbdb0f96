"""Canonical hashes: the balance digest (shared with the engine) and the payload hash of a tick."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from ledger_service.core.accounts import Account, is_held
from ledger_service.core.entries import Entry


def balance_line(key: Account, quantity: int) -> str:
    """One canonical line: "AGENT|a-17|WOOD|12\\n" (enum names without prefix, decimal quantity)."""
    return f"{key[0]}|{key[1]}|{key[2]}|{quantity}\n"


def digest_of_lines(lines: Iterable[str]) -> str:
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def balance_digest(balances: Mapping[Account, int]) -> str:
    """sha256 hex over the lines of every non-zero held balance, sorted by account key.

    WORLD and VOID are left out: the engine holds no such accounts, and both sides must agree.
    """
    return digest_of_lines(
        balance_line(key, quantity)
        for key, quantity in sorted(balances.items())
        if quantity and is_held(key)
    )


def payload_hash(tick: int, entries: Sequence[Entry], engine_digest: str) -> str:
    """Identity of one CommitTick payload, so a retry is recognised as the same request."""
    digest = hashlib.sha256(f"tick={tick}\nengine_digest={engine_digest}\n".encode())
    for entry in entries:
        fields = (
            entry.tick,
            entry.entry_type,
            entry.from_type,
            entry.from_id,
            entry.to_type,
            entry.to_id,
            entry.resource,
            entry.quantity,
            entry.memo,
            entry.correlation_id,
            entry.id,
        )
        digest.update(("\x1f".join(repr(value) for value in fields) + "\n").encode())
    return digest.hexdigest()
