"""Posting rules: which entry may move what between which accounts, checked in precedence order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ledger_service.core.accounts import (
    AGENT,
    ENTITY_TYPES,
    ENTRY_TYPES,
    GROUP_STORE,
    LOCATION_GROUND,
    LOCATION_NODE,
    MAX_QUANTITY,
    RESOURCES,
    SINGLETON_TYPES,
    STRUCTURE,
    VOID,
    WORLD,
)
from ledger_service.core.entries import Entry, Rejection, RejectionCode

Pair = tuple[str, str]

# world.md §4: the (from type, to type) pairs each entry type may move units along.
ALLOWED_PAIRS: Final[Mapping[str, frozenset[Pair]]] = {
    "REGENERATION": frozenset({(WORLD, LOCATION_NODE), (WORLD, STRUCTURE)}),
    "GATHER": frozenset({(LOCATION_NODE, AGENT), (STRUCTURE, AGENT)}),
    "CONSUME": frozenset({(AGENT, VOID), (LOCATION_NODE, VOID)}),
    "TRANSFER": frozenset(
        {
            (AGENT, AGENT),
            (AGENT, STRUCTURE),
            (STRUCTURE, AGENT),
            (AGENT, GROUP_STORE),
            (GROUP_STORE, AGENT),
        }
    ),
    "BUILD": frozenset({(AGENT, STRUCTURE), (AGENT, VOID)}),
    "DECAY": frozenset({(STRUCTURE, VOID), (LOCATION_NODE, VOID), (LOCATION_GROUND, VOID)}),
    "SALVAGE": frozenset({(STRUCTURE, AGENT), (STRUCTURE, LOCATION_GROUND)}),
    "DROP": frozenset({(AGENT, LOCATION_GROUND)}),
    "PICKUP": frozenset({(LOCATION_GROUND, AGENT)}),
    # Craft and smelt record both legs: inputs to the void, outputs out of the world.
    "CRAFT": frozenset({(AGENT, VOID), (WORLD, AGENT)}),
    "SMELT": frozenset({(AGENT, VOID), (WORLD, AGENT)}),
    # A fork's first tick: the parent's holdings at the fork tick (Book.plan_tick allows it only
    # in an empty book).
    "OPENING": frozenset(
        {
            (WORLD, AGENT),
            (WORLD, LOCATION_NODE),
            (WORLD, LOCATION_GROUND),
            (WORLD, STRUCTURE),
            (WORLD, GROUP_STORE),
        }
    ),
}


def _is_name(value: object, names: frozenset[str]) -> bool:
    return isinstance(value, str) and value in names


def _quantity_problem(quantity: object) -> str:
    """Empty when the quantity is a positive whole number that fits a balance, else why not."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        return f"must be a positive whole number, got {quantity!r} ({type(quantity).__name__})"
    if quantity <= 0:
        return f"must be a positive whole number, got {quantity}"
    if quantity > MAX_QUANTITY:
        return f"must be at most {MAX_QUANTITY} (int64), got {quantity}"
    return ""


def _describe(entity_type: str, entity_id: str) -> str:
    return entity_type if entity_type in SINGLETON_TYPES else f"{entity_type} {entity_id!r}"


def check_shape(entry: Entry, index: int) -> Rejection | None:
    """Codes 1-9: everything that can be judged from the entry alone, first failure wins."""

    def reject(code: RejectionCode, field: str, reason: str) -> Rejection:
        return Rejection(index, code, field, reason)

    if not _is_name(entry.entry_type, ENTRY_TYPES):
        known = ", ".join(sorted(ENTRY_TYPES))
        return reject(
            RejectionCode.ENTRY_TYPE_UNKNOWN,
            "entry_type",
            f"unknown entry type {entry.entry_type!r}; use one of {known}",
        )
    if not _is_name(entry.resource, RESOURCES):
        return reject(
            RejectionCode.RESOURCE_UNKNOWN,
            "resource",
            f"unknown resource {entry.resource!r}; use a Resource enum value other than UNSPECIFIED",
        )
    problem = _quantity_problem(entry.quantity)
    if problem:
        return reject(RejectionCode.QUANTITY_NOT_POSITIVE, "quantity", problem)
    for side, entity_type, code in (
        ("from_account", entry.from_type, RejectionCode.FROM_ENTITY_TYPE_UNKNOWN),
        ("to_account", entry.to_type, RejectionCode.TO_ENTITY_TYPE_UNKNOWN),
    ):
        if not _is_name(entity_type, ENTITY_TYPES):
            known = ", ".join(sorted(ENTITY_TYPES))
            return reject(
                code, f"{side}.entity_type", f"unknown entity type {entity_type!r}; use {known}"
            )
    for side, entity_type, entity_id, code in (
        ("from_account", entry.from_type, entry.from_id, RejectionCode.FROM_ENTITY_ID_MISSING),
        ("to_account", entry.to_type, entry.to_id, RejectionCode.TO_ENTITY_ID_MISSING),
    ):
        if entity_type not in SINGLETON_TYPES and not (isinstance(entity_id, str) and entity_id):
            return reject(
                code, f"{side}.entity_id", f"a {entity_type} account needs its entity id; got none"
            )
    if entry.from_account == entry.to_account:
        return reject(
            RejectionCode.SAME_ACCOUNT,
            "to_account",
            f"moves from {_describe(entry.from_type, entry.from_id)} to itself; "
            "from and to must be different accounts",
        )
    pairs = ALLOWED_PAIRS[entry.entry_type]
    if (entry.from_type, entry.to_type) not in pairs:
        allowed = ", ".join(f"{a}->{b}" for a, b in sorted(pairs))
        return reject(
            RejectionCode.PAIR_NOT_ALLOWED,
            "entry_type",
            f"{entry.entry_type} may not move {entry.from_type}->{entry.to_type}; "
            f"allowed: {allowed}",
        )
    return None


def check_funds(entry: Entry, index: int, balance: int) -> Rejection | None:
    """Code 10: the source may not go below zero (WORLD is the one source that may)."""
    if entry.from_type == WORLD or balance >= entry.quantity:
        return None
    return Rejection(
        index,
        RejectionCode.INSUFFICIENT_BALANCE,
        "quantity",
        f"{_describe(entry.from_type, entry.from_id)} holds {balance} {entry.resource}, "
        f"cannot move {entry.quantity}",
    )


def check_tick(entry: Entry, index: int, tick: int) -> Rejection | None:
    """Code 11: an entry must belong to the tick it is committed with."""
    if entry.tick == tick:
        return None
    return Rejection(
        index,
        RejectionCode.TICK_MISMATCH,
        "tick",
        f"entry says tick {entry.tick!r} but is committed with tick {tick}; set it to {tick}",
    )
