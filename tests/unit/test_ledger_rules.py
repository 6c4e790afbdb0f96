"""Ledger posting rules: every rejection code, its precedence, its message, and the digest form."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from engine.core.entries import balance_digest as engine_balance_digest
from ledger_service.core import (
    ALLOWED_PAIRS,
    ENTITY_TYPES,
    Book,
    Entry,
    RejectionCode,
    balance_digest,
)
from ledger_service.core.rules import check_shape

VALID = Entry(3, "GATHER", "LOCATION_NODE", "node-1", "AGENT", "agent-1", "BERRY", 2)

# One way to break an entry for each code that can be judged from the entry alone.
BREAKERS: dict[RejectionCode, dict[str, object]] = {
    RejectionCode.ENTRY_TYPE_UNKNOWN: {"entry_type": "STEAL"},
    RejectionCode.RESOURCE_UNKNOWN: {"resource": "GOLD"},
    RejectionCode.QUANTITY_NOT_POSITIVE: {"quantity": 0},
    RejectionCode.FROM_ENTITY_TYPE_UNKNOWN: {"from_type": "UNSPECIFIED"},
    RejectionCode.TO_ENTITY_TYPE_UNKNOWN: {"to_type": "#42"},
    RejectionCode.FROM_ENTITY_ID_MISSING: {"from_id": ""},
    RejectionCode.TO_ENTITY_ID_MISSING: {"to_id": ""},
    RejectionCode.SAME_ACCOUNT: {"to_type": "LOCATION_NODE", "to_id": "node-1"},
    RejectionCode.PAIR_NOT_ALLOWED: {"entry_type": "DROP"},
}


def funded_book() -> Book:
    return Book({("LOCATION_NODE", "node-1", "BERRY"): 5, ("WORLD", "", "BERRY"): -5})


@pytest.mark.parametrize("code", list(BREAKERS), ids=lambda code: code.name)
def test_each_shape_fault_is_rejected_with_its_code(code: RejectionCode) -> None:
    entry = dataclasses.replace(VALID, **BREAKERS[code])  # type: ignore[arg-type]
    plan = funded_book().plan_tick(3, [entry])
    assert not plan.accepted
    assert [(r.entry_index, r.code) for r in plan.rejections] == [(0, code)]
    assert plan.rejections[0].message.startswith("entries[0].")


@pytest.mark.parametrize(
    ("first", "second"),
    list(itertools.combinations(BREAKERS, 2)),
    ids=lambda code: code.name,
)
def test_the_earlier_code_wins_when_two_apply(first: RejectionCode, second: RejectionCode) -> None:
    changes = {**BREAKERS[second], **BREAKERS[first]}
    entry = dataclasses.replace(VALID, **changes)  # type: ignore[arg-type]
    rejection = check_shape(entry, 0)
    assert rejection is not None
    # Breaking the earlier rule can make the later one moot, never the other way round.
    assert rejection.code <= first


def test_insufficient_balance_comes_before_tick_mismatch() -> None:
    entry = dataclasses.replace(VALID, quantity=9, tick=4)
    plan = funded_book().plan_tick(3, [entry])
    assert [r.code for r in plan.rejections] == [RejectionCode.INSUFFICIENT_BALANCE]
    assert plan.rejections[0].message == (
        "entries[0].quantity: LOCATION_NODE 'node-1' holds 5 BERRY, cannot move 9"
    )


def test_tick_mismatch_names_both_ticks() -> None:
    plan = funded_book().plan_tick(3, [dataclasses.replace(VALID, tick=4)])
    assert [r.code for r in plan.rejections] == [RejectionCode.TICK_MISMATCH]
    assert "entry says tick 4 but is committed with tick 3" in plan.rejections[0].message


@pytest.mark.parametrize("quantity", [0, -3, 1.5, 2.0, True, "2", None])
def test_quantity_must_be_a_positive_whole_number(quantity: object) -> None:
    entry = dataclasses.replace(VALID, quantity=quantity)  # type: ignore[arg-type]
    plan = funded_book().plan_tick(3, [entry])
    assert [r.code for r in plan.rejections] == [RejectionCode.QUANTITY_NOT_POSITIVE]
    message = plan.rejections[0].message
    assert message.startswith("entries[0].quantity: must be a positive whole number, got ")
    assert repr(quantity) in message or str(quantity) in message


def test_quantity_beyond_int64_is_rejected() -> None:
    entry = dataclasses.replace(VALID, quantity=2**63)
    plan = funded_book().plan_tick(3, [entry])
    assert [r.code for r in plan.rejections] == [RejectionCode.QUANTITY_NOT_POSITIVE]
    assert "int64" in plan.rejections[0].message


def test_every_allowed_pair_posts_and_every_other_pair_is_refused() -> None:
    ids = {"WORLD": "", "VOID": ""}
    for entry_type, pairs in ALLOWED_PAIRS.items():
        for from_type, to_type in itertools.product(sorted(ENTITY_TYPES), repeat=2):
            entry = Entry(
                1, entry_type, from_type, ids.get(from_type, "x"), to_type,
                ids.get(to_type, "y"), "WOOD", 1,
            )  # fmt: skip
            balances = {} if from_type == "WORLD" else {entry.from_account: 1}
            plan = Book(balances).plan_tick(1, [entry])
            # A craft or smelt output alone, with no inputs consumed, is an unbacked mint.
            lone_mint = entry_type in ("CRAFT", "SMELT") and from_type == "WORLD"
            if (from_type, to_type) in pairs and lone_mint:
                assert [r.code for r in plan.rejections] == [RejectionCode.UNBACKED_MINT]
            elif (from_type, to_type) in pairs:
                assert plan.accepted, (entry_type, from_type, to_type, plan.rejections)
            else:
                same = entry.from_account == entry.to_account  # WORLD->WORLD, VOID->VOID
                expected = RejectionCode.SAME_ACCOUNT if same else RejectionCode.PAIR_NOT_ALLOWED
                assert [r.code for r in plan.rejections] == [expected]


def test_world_is_only_debited_and_void_only_credited() -> None:
    for pairs in ALLOWED_PAIRS.values():
        assert all(to_type != "WORLD" and from_type != "VOID" for from_type, to_type in pairs)


def test_a_later_entry_may_spend_what_an_earlier_one_credited() -> None:
    entries = [
        Entry(0, "REGENERATION", "WORLD", "", "LOCATION_NODE", "n", "FISH", 4),
        Entry(0, "GATHER", "LOCATION_NODE", "n", "AGENT", "a", "FISH", 4),
        Entry(0, "CONSUME", "AGENT", "a", "VOID", "", "FISH", 3),
    ]
    book = Book()
    plan = book.plan_tick(0, entries)
    assert plan.accepted
    book.apply(plan)
    assert book.balance(("AGENT", "a", "FISH")) == 1
    assert book.balance(("WORLD", "", "FISH")) == -4
    assert book.balance(("VOID", "", "FISH")) == 3


def test_one_rejection_means_nothing_of_the_tick_applies() -> None:
    book = funded_book()
    before = dict(book.balances)
    plan = book.plan_tick(3, [VALID, dataclasses.replace(VALID, quantity=4)])
    assert [(r.entry_index, r.code) for r in plan.rejections] == [
        (1, RejectionCode.INSUFFICIENT_BALANCE)
    ]
    assert plan.changes == {}
    with pytest.raises(ValueError, match="rejected"):
        book.apply(plan)
    assert dict(book.balances) == before


def test_world_and_void_ignore_entity_ids() -> None:
    entry = Entry(0, "REGENERATION", "WORLD", "anything", "LOCATION_NODE", "n", "WOOD", 2)
    assert entry.from_account == ("WORLD", "", "WOOD")


def test_digest_is_the_engines_digest_of_the_same_holdings() -> None:
    book = Book()
    entries = [
        Entry(0, "REGENERATION", "WORLD", "", "LOCATION_NODE", "n-2", "WOOD", 7),
        Entry(0, "REGENERATION", "WORLD", "", "LOCATION_NODE", "n-1", "STONE", 3),
        Entry(0, "GATHER", "LOCATION_NODE", "n-2", "AGENT", "a-9", "WOOD", 7),
        Entry(0, "CONSUME", "LOCATION_NODE", "n-1", "VOID", "", "STONE", 1),
    ]
    plan = book.plan_tick(0, entries)
    book.apply(plan)
    held = {
        key: quantity for key, quantity in book.balances.items() if key[0] not in ("WORLD", "VOID")
    }
    assert plan.digest == book.digest() == balance_digest(book.balances)
    assert plan.digest == engine_balance_digest(held)
    # A zero balance (n-2 WOOD) is left out, so it cannot change the digest.
    assert plan.digest == engine_balance_digest({k: q for k, q in held.items() if q})
