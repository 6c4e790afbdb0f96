"""One contract for both ledger stores (SQLite file, PostgreSQL), exercised through the keeper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from emergence.mesh.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from ledger_service.adapters.keeper import BookKeeper
from ledger_service.adapters.store import HistoryQuery, LedgerStore, TickRecord, open_store
from ledger_service.core import Entry, RejectionCode

RUN = "run-contract"


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LedgerStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_dsn")
    opened = open_store(url)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def regenerate(tick: int, node: str, resource: str, quantity: int) -> Entry:
    return Entry(tick, "REGENERATION", "WORLD", "", "LOCATION_NODE", node, resource, quantity)


def gather(tick: int, node: str, agent: str, resource: str, quantity: int) -> Entry:
    return Entry(tick, "GATHER", "LOCATION_NODE", node, "AGENT", agent, resource, quantity)


def eat(tick: int, agent: str, resource: str, quantity: int) -> Entry:
    return Entry(tick, "CONSUME", "AGENT", agent, "VOID", "", resource, quantity)


def tick_entries(tick: int) -> list[Entry]:
    """A small, always valid day: regrowth, two agents gather, one eats."""
    return [
        regenerate(tick, "n1", "BERRY", 5),
        regenerate(tick, "n2", "WOOD", 3),
        gather(tick, "n1", "a1", "BERRY", 2),
        gather(tick, "n2", "a2", "WOOD", 1),
        eat(tick, "a1", "BERRY", 1),
    ]


async def commit_days(keeper: BookKeeper, ticks: range, run_id: str = RUN) -> list[str]:
    digests = []
    for tick in ticks:
        outcome = await keeper.commit_tick(run_id, tick, tick_entries(tick))
        assert outcome.applied and not outcome.duplicate, outcome.rejections
        digests.append(outcome.digest)
    return digests


async def test_committed_ticks_survive_a_fresh_keeper(store: LedgerStore) -> None:
    digests = await commit_days(BookKeeper(store), range(4))
    fresh = BookKeeper(store)
    balances, last_tick = await fresh.balances(RUN)
    assert last_tick == 3
    assert dict(balances)[("AGENT", "a1", "BERRY")] == 4
    assert dict(balances)[("WORLD", "", "BERRY")] == -20
    assert dict(balances)[("VOID", "", "BERRY")] == 4
    outcome = await fresh.commit_tick(RUN, 4, tick_entries(4))
    assert outcome.applied
    assert len({*digests, outcome.digest}) == 5


async def test_a_rejected_tick_leaves_no_trace(store: LedgerStore) -> None:
    keeper = BookKeeper(store)
    await commit_days(keeper, range(1))
    before = await keeper.balances(RUN)
    entries = [*tick_entries(1), eat(1, "a2", "WOOD", 50)]
    outcome = await keeper.commit_tick(RUN, 1, entries)
    assert not outcome.applied
    assert [(r.entry_index, r.code) for r in outcome.rejections] == [
        (5, RejectionCode.INSUFFICIENT_BALANCE)
    ]
    assert await store.tick_record(RUN, 1) is None
    assert await keeper.history(HistoryQuery(RUN, from_tick=1)) == ([], False)
    assert await BookKeeper(store).balances(RUN) == before == await keeper.balances(RUN)


async def test_a_retry_is_a_duplicate_with_the_same_answer(store: LedgerStore) -> None:
    keeper = BookKeeper(store)
    first = await keeper.commit_tick(RUN, 0, tick_entries(0), "engine-digest-that-differs")
    assert [a.code for a in first.anomalies] == ["DIGEST_MISMATCH"]
    for again_keeper in (keeper, BookKeeper(store)):
        again = await again_keeper.commit_tick(
            RUN, 0, tick_entries(0), "engine-digest-that-differs"
        )
        assert again.duplicate and again.applied
        assert (again.digest, again.anomalies, again.entries_applied) == (
            first.digest,
            first.anomalies,
            first.entries_applied,
        )
    history, _ = await keeper.history(HistoryQuery(RUN))
    assert len(history) == len(tick_entries(0))


async def test_a_matching_engine_digest_raises_no_anomaly(store: LedgerStore) -> None:
    keeper = BookKeeper(store)
    probe = await keeper.commit_tick(RUN, 0, tick_entries(0))
    other = await keeper.commit_tick("run-other", 0, tick_entries(0), probe.digest)
    assert other.applied and other.anomalies == ()


async def test_order_and_payload_conflicts_are_clear_errors(store: LedgerStore) -> None:
    keeper = BookKeeper(store)
    await commit_days(keeper, range(3))
    with pytest.raises(AlreadyExists, match="tick 1 of run run-contract was already committed"):
        await keeper.commit_tick(RUN, 1, tick_entries(1)[:2])
    with pytest.raises(FailedPrecondition, match=r"would leave a gap.*up to 2"):
        await keeper.commit_tick(RUN, 5, tick_entries(5))
    with pytest.raises(InvalidArgument, match="run_id"):
        await keeper.commit_tick("", 0, [])


async def test_history_pages_through_everything_with_filters(store: LedgerStore) -> None:
    keeper = BookKeeper(store)
    await commit_days(keeper, range(4))
    everything, more = await keeper.history(HistoryQuery(RUN, limit=1000))
    assert not more and len(everything) == 20
    paged, after = [], None
    while True:
        page, more = await keeper.history(HistoryQuery(RUN, after=after, limit=3))
        paged.extend(page)
        if not more:
            break
        after = (page[-1].tick, page[-1].position)
    assert paged == everything
    window, _ = await keeper.history(HistoryQuery(RUN, from_tick=1, to_tick=2))
    assert {row.tick for row in window} == {1, 2}
    mine, _ = await keeper.history(HistoryQuery(RUN, account=("AGENT", "a1")))
    assert [row.entry.entry_type for row in mine] == ["GATHER", "CONSUME"] * 4
    wood, _ = await keeper.history(HistoryQuery(RUN, resource="WOOD"))
    assert {row.entry.resource for row in wood} == {"WOOD"} and len(wood) == 8


async def test_verify_proves_conservation_and_finds_tampering(store: LedgerStore) -> None:
    keeper = BookKeeper(store)
    digests = await commit_days(keeper, range(3))
    verified = await keeper.verify(RUN)
    assert verified.result.ok, verified.result.anomalies
    assert verified.last_tick == 2 and verified.result.entries_checked == 15
    assert verified.result.digest == digests[-1]
    berry = next(t for t in verified.result.totals if t.resource == "BERRY")
    assert (berry.world_in, berry.void_out, berry.held) == (15, 3, 12)
    # A tick record with no entries but a changed balance: stored state no history explains.
    await store.commit_tick(TickRecord(RUN, 3, "x", "x", 0), [], {("AGENT", "a1", "BERRY"): 99})
    tampered = await BookKeeper(store).verify(RUN)
    codes = {anomaly.code for anomaly in tampered.result.anomalies}
    assert not tampered.result.ok
    assert {"BALANCE_MISMATCH", "CONSERVATION_VIOLATED"} <= codes
    with pytest.raises(NotFound, match="no committed ticks"):
        await keeper.verify("run-unknown")


async def test_rewind_drops_later_ticks_and_allows_a_new_future(store: LedgerStore) -> None:
    keeper = BookKeeper(store)
    digests = await commit_days(keeper, range(5))
    rewound = await keeper.rewind(RUN, 2)
    assert (rewound.entries_removed, rewound.last_tick, rewound.digest) == (10, 2, digests[2])
    for reader in (keeper, BookKeeper(store)):
        _, last_tick = await reader.balances(RUN)
        assert last_tick == 2
    replaced = await keeper.commit_tick(RUN, 3, tick_entries(3)[:2])
    assert replaced.applied and not replaced.duplicate
    assert (await keeper.verify(RUN)).result.ok


async def test_runs_are_kept_apart_and_balances_filter(store: LedgerStore) -> None:
    keeper = BookKeeper(store)
    await commit_days(keeper, range(2))
    await keeper.commit_tick("run-b", 7, [regenerate(7, "n9", "CLAY", 4)])
    clay, last_tick = await keeper.balances("run-b", resource="CLAY")
    assert last_tick == 7
    assert clay == [(("LOCATION_NODE", "n9", "CLAY"), 4), (("WORLD", "", "CLAY"), -4)]
    agent, _ = await keeper.balances(RUN, accounts=[("AGENT", "a2")])
    assert agent == [(("AGENT", "a2", "WOOD"), 2)]
    assert await keeper.balances("run-none") == ([], 0)


async def test_a_large_tick_commits_whole(store: LedgerStore) -> None:
    keeper = BookKeeper(store)
    entries = [regenerate(0, f"n{i:03d}", "FISH", 50) for i in range(100)]
    entries += [gather(0, f"n{i % 100:03d}", f"a{i:04d}", "FISH", 1) for i in range(5000)]
    outcome = await keeper.commit_tick(RUN, 0, entries)
    assert outcome.applied and outcome.entries_applied == 5100
    verified = await BookKeeper(store).verify(RUN)
    assert verified.result.ok and verified.result.entries_checked == 5100
    assert verified.result.digest == outcome.digest
