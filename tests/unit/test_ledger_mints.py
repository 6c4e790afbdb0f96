"""Craft and smelt outputs come out of WORLD only against inputs the same agent consumed."""

from __future__ import annotations

from ledger_service.core import Book, Entry, RejectionCode


def leg(entry_type: str, source: tuple[str, str], target: tuple[str, str], resource: str,
        quantity: int, correlation: str = "c1") -> Entry:  # fmt: skip
    return Entry(
        1, entry_type, source[0], source[1], target[0], target[1], resource, quantity,
        correlation_id=correlation,
    )  # fmt: skip


AGENT = ("AGENT", "a1")
OTHER = ("AGENT", "a2")
VOID = ("VOID", "")
WORLD = ("WORLD", "")
HOLDINGS = {("AGENT", "a1", "WOOD"): 10, ("AGENT", "a1", "STONE"): 10, ("AGENT", "a1", "METAL"): 3,
            ("AGENT", "a1", "ORE"): 4, ("AGENT", "a1", "FISH"): 2}  # fmt: skip


def codes(entries: list[Entry]) -> list[RejectionCode]:
    return [r.code for r in Book(HOLDINGS).plan_tick(1, entries).rejections]


def test_recipes_of_the_world_are_accepted() -> None:
    tool = [
        leg("CRAFT", AGENT, VOID, "STONE", 2),
        leg("CRAFT", AGENT, VOID, "WOOD", 2),
        leg("CRAFT", WORLD, AGENT, "TOOL", 1),
    ]
    coins = [
        leg("CRAFT", AGENT, VOID, "METAL", 1, "c2"),
        leg("CRAFT", WORLD, AGENT, "CURRENCY_TOKEN", 5, "c2"),
    ]
    cooked = [
        leg("CRAFT", AGENT, VOID, "FISH", 1, "c3"),
        leg("CRAFT", WORLD, AGENT, "COOKED", 1, "c3"),
    ]
    metal = [
        leg("SMELT", AGENT, VOID, "ORE", 2, "c4"),
        leg("SMELT", AGENT, VOID, "WOOD", 1, "c4"),
        leg("SMELT", WORLD, AGENT, "METAL", 1, "c4"),
    ]
    assert codes([*tool, *coins, *cooked, *metal]) == []


def test_a_billion_water_from_nothing_is_refused() -> None:
    assert codes([leg("CRAFT", WORLD, AGENT, "WATER", 10**9)]) == [RejectionCode.UNBACKED_MINT]
    assert codes([leg("SMELT", WORLD, AGENT, "METAL", 1, "")]) == [RejectionCode.UNBACKED_MINT]


def test_outputs_must_be_made_goods_in_a_bounded_yield_for_the_consumer() -> None:
    wood = leg("CRAFT", AGENT, VOID, "WOOD", 1)
    assert codes([wood, leg("CRAFT", WORLD, AGENT, "WATER", 1)]) == [RejectionCode.UNBACKED_MINT]
    assert codes([wood, leg("CRAFT", WORLD, AGENT, "TOOL", 2)]) == [RejectionCode.UNBACKED_MINT]
    assert codes([wood, leg("CRAFT", WORLD, OTHER, "TOOL", 1)]) == [RejectionCode.UNBACKED_MINT]
    assert codes([wood, leg("SMELT", WORLD, AGENT, "METAL", 1)]) == [RejectionCode.UNBACKED_MINT]
    metal = leg("CRAFT", AGENT, VOID, "METAL", 1)
    assert codes([metal, leg("CRAFT", WORLD, AGENT, "CURRENCY_TOKEN", 6)]) == [
        RejectionCode.UNBACKED_MINT
    ]


def test_a_refused_mint_changes_nothing_of_the_tick() -> None:
    book = Book(HOLDINGS)
    plan = book.plan_tick(
        1, [leg("CRAFT", AGENT, VOID, "WOOD", 2), leg("CRAFT", WORLD, AGENT, "TEXTILE", 9)]
    )
    assert not plan.accepted and not plan.changes
    assert "than any recipe yields" in plan.rejections[0].message
