"""Property tests of the book: random valid and invalid entries against a plain reference model."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_service.core import (
    ALLOWED_PAIRS,
    ENTITY_TYPES,
    ENTRY_TYPES,
    RESOURCES,
    Account,
    Book,
    Entry,
    RejectionCode,
    Replay,
    balance_digest,
    conservation,
)

IDS = {
    "WORLD": [""],
    "VOID": [""],
    "AGENT": ["a1", "a2", "a3"],
    "LOCATION_NODE": ["n1", "n2"],
    "LOCATION_GROUND": ["g1"],
    "STRUCTURE": ["s1"],
    "GROUP_STORE": ["k1"],
}
TYPES = sorted(ENTITY_TYPES)


@st.composite
def valid_entry(draw: st.DrawFn, tick: int) -> Entry:
    entry_type = draw(st.sampled_from(sorted(ENTRY_TYPES)))
    from_type, to_type = draw(st.sampled_from(sorted(ALLOWED_PAIRS[entry_type])))
    if is_lone_mint(entry_type, from_type):
        entry_type, from_type, to_type = "GATHER", "LOCATION_NODE", "AGENT"
    return Entry(
        tick,
        entry_type,
        from_type,
        draw(st.sampled_from(IDS[from_type])),
        to_type,
        draw(st.sampled_from(IDS[to_type])),
        draw(st.sampled_from(["WOOD", "BERRY", "STONE"])),
        draw(st.integers(1, 12)),
    )


@st.composite
def any_entry(draw: st.DrawFn, tick: int) -> Entry:
    """Mostly well-formed, sometimes broken in one or more fields."""
    base = draw(valid_entry(tick))
    if draw(st.integers(0, 3)):
        return base
    from_type = draw(st.sampled_from([*TYPES, "UNSPECIFIED"]))
    to_type = draw(st.sampled_from([*TYPES, "#9"]))
    return Entry(
        draw(st.sampled_from([tick, tick, tick + 1])),
        draw(st.sampled_from([base.entry_type, "UNSPECIFIED"])),
        from_type,
        draw(st.sampled_from(["", *IDS.get(from_type, ["x"])])),
        to_type,
        draw(st.sampled_from(["", *IDS.get(to_type, ["y"])])),
        draw(st.sampled_from([base.resource, "GOLD"])),
        draw(st.sampled_from([base.quantity, 0, -1, 1.5, True])),  # type: ignore[list-item]
    )


MINTING_TYPES = ("CRAFT", "SMELT")


def is_lone_mint(entry_type: str, from_type: str) -> bool:
    """A craft or smelt output leg: without its input legs (which these tests do not draw) the
    ledger refuses it as an unbacked mint."""
    return entry_type in MINTING_TYPES and from_type == "WORLD"


def unbacked_mints(entries: Sequence[Entry]) -> list[tuple[int, RejectionCode]]:
    """Code 12, checked once every entry passed: the entries here carry no correlation id, so the
    first output leg of each minting type is refused."""
    first: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if is_lone_mint(entry.entry_type, entry.from_type):
            first.setdefault(entry.entry_type, index)
    return sorted((index, RejectionCode.UNBACKED_MINT) for index in first.values())


def expected_code(
    entry: Entry, tick: int, balances: dict[Account, int], book_empty: bool = False
) -> RejectionCode | None:
    """The precedence of LedgerRejectionCode, written out plainly as an independent model."""
    singletons = ("WORLD", "VOID")
    q = entry.quantity
    checks = [
        (entry.entry_type not in ENTRY_TYPES, RejectionCode.ENTRY_TYPE_UNKNOWN),
        (entry.resource not in RESOURCES, RejectionCode.RESOURCE_UNKNOWN),
        (type(q) is not int or q <= 0, RejectionCode.QUANTITY_NOT_POSITIVE),
        (entry.from_type not in ENTITY_TYPES, RejectionCode.FROM_ENTITY_TYPE_UNKNOWN),
        (entry.to_type not in ENTITY_TYPES, RejectionCode.TO_ENTITY_TYPE_UNKNOWN),
        (entry.from_type not in singletons and not entry.from_id, RejectionCode.FROM_ENTITY_ID_MISSING),
        (entry.to_type not in singletons and not entry.to_id, RejectionCode.TO_ENTITY_ID_MISSING),
    ]  # fmt: skip
    for failed, code in checks:
        if failed:
            return code
    source = (entry.from_type, "" if entry.from_type in singletons else entry.from_id)
    target = (entry.to_type, "" if entry.to_type in singletons else entry.to_id)
    if source == target:
        return RejectionCode.SAME_ACCOUNT
    if (entry.from_type, entry.to_type) not in ALLOWED_PAIRS[entry.entry_type]:
        return RejectionCode.PAIR_NOT_ALLOWED
    if entry.entry_type == "OPENING" and not book_empty:  # a fork's opening balances only
        return RejectionCode.PAIR_NOT_ALLOWED
    if entry.from_type != "WORLD" and balances.get((*source, entry.resource), 0) < q:
        return RejectionCode.INSUFFICIENT_BALANCE
    if entry.tick != tick:
        return RejectionCode.TICK_MISMATCH
    return None


def model_tick(
    tick: int, entries: Sequence[Entry], balances: dict[Account, int]
) -> tuple[list[tuple[int, RejectionCode]], dict[Account, int]]:
    running = dict(balances)
    rejected = []
    book_empty = not any(balances.values())
    for index, entry in enumerate(entries):
        code = expected_code(entry, tick, running, book_empty)
        if code is not None:
            rejected.append((index, code))
            continue
        for key, delta in (
            (entry.from_account, -entry.quantity),
            (entry.to_account, entry.quantity),
        ):
            running[key] = running.get(key, 0) + delta
    if not rejected:
        rejected = unbacked_mints(entries)
    return rejected, (balances if rejected else running)


def funded_entry(data: st.DataObject, tick: int, running: dict[Account, int]) -> Entry:
    """A well-formed entry whose source can usually pay: WORLD, or an account holding units."""
    options = []
    # OPENING only opens an empty book: offered while nothing is held yet.
    book_empty = not any(running.values())
    for entry_type in sorted(ENTRY_TYPES - ({"OPENING"} if not book_empty else set())):
        for from_type, to_type in sorted(ALLOWED_PAIRS[entry_type]):
            if is_lone_mint(entry_type, from_type):
                continue
            for from_id in IDS[from_type]:
                for resource in ("WOOD", "BERRY", "STONE"):
                    held = running.get((from_type, from_id, resource), 0)
                    if from_type == "WORLD" or held > 0:
                        options.append((entry_type, from_type, from_id, to_type, resource, held))
    entry_type, from_type, from_id, to_type, resource, held = data.draw(st.sampled_from(options))
    # Now and then one more than the source holds, to exercise INSUFFICIENT_BALANCE.
    most = 12 if from_type == "WORLD" else held + data.draw(st.sampled_from([0, 0, 0, 1]))
    entry = Entry(
        tick, entry_type, from_type, from_id, to_type, data.draw(st.sampled_from(IDS[to_type])),
        resource, data.draw(st.integers(1, most)),
    )  # fmt: skip
    if expected_code(entry, tick, running, book_empty) is None:
        for key, delta in (
            (entry.from_account, -entry.quantity),
            (entry.to_account, entry.quantity),
        ):
            running[key] = running.get(key, 0) + delta
    return entry


def draw_ticks(data: st.DataObject) -> list[list[Entry]]:
    """Up to 10 ticks; about one in three carries entries that may be broken in any field."""
    ticks: list[list[Entry]] = []
    model: dict[Account, int] = {}
    for tick in range(data.draw(st.integers(1, 10))):
        running = dict(model)
        broken = data.draw(st.integers(0, 2)) == 0
        entries = []
        for _ in range(data.draw(st.integers(0, 15))):
            if broken and data.draw(st.integers(0, 3)) == 0:
                entries.append(data.draw(any_entry(tick)))
            else:
                entries.append(funded_entry(data, tick, running))
        _, model = model_tick(tick, entries, model)
        ticks.append(entries)
    return ticks


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_book_matches_the_model_and_keeps_every_law(data: st.DataObject) -> None:
    ticks = draw_ticks(data)
    book = Book()
    model: dict[Account, int] = {}
    replay = Replay()
    for tick, entries in enumerate(ticks):
        expected_rejections, model = model_tick(tick, entries, model)
        plan = book.plan_tick(tick, entries)
        assert [(r.entry_index, r.code) for r in plan.rejections] == expected_rejections
        assert all(r.message.startswith(f"entries[{r.entry_index}].") for r in plan.rejections)
        if plan.accepted:
            assert plan.anomalies == ()
            book.apply(plan)
            replay.add_tick(tick, entries)
        assert {k: q for k, q in book.balances.items() if q} == {
            k: q for k, q in model.items() if q
        }
        for (entity_type, _, _), quantity in book.balances.items():
            assert quantity >= 0 or entity_type == "WORLD"
        assert all(totals.conserved for totals in conservation(book.balances))
        assert book.digest() == balance_digest(book.balances)
    result = replay.finish(book.balances)
    assert result.ok, result.anomalies
    assert result.digest == book.digest()


@settings(max_examples=100, deadline=None)
@given(st.data(), st.integers(0, 40))
def test_verify_finds_a_tampered_balance(data: st.DataObject, pick: int) -> None:
    ticks = draw_ticks(data)
    book, replay = Book(), Replay()
    for tick, entries in enumerate(ticks):
        plan = book.plan_tick(tick, entries)
        if plan.accepted:
            book.apply(plan)
            replay.add_tick(tick, entries)
    stored = dict(book.balances)
    held = sorted(key for key in stored if key[0] not in ("WORLD", "VOID"))
    if held:
        key = held[pick % len(held)]
        stored[key] += 1
        codes = {anomaly.code for anomaly in replay.finish(stored).anomalies}
        assert {"BALANCE_MISMATCH", "CONSERVATION_VIOLATED"} <= codes
    else:
        assert replay.finish(stored).ok
