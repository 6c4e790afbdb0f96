"""Verification: replay stored history, compare with stored balances, prove conservation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ledger_service.core.accounts import VOID, WORLD, Account
from ledger_service.core.book import Book, TickPlan, negative_balance
from ledger_service.core.entries import Anomaly, Entry


@dataclass(frozen=True, slots=True)
class ResourceTotals:
    """Per resource: units that entered (world_in), left (void_out) and are held right now."""

    resource: str
    world_in: int
    void_out: int
    held: int

    @property
    def conserved(self) -> bool:
        return self.world_in - self.void_out == self.held


def conservation(balances: Mapping[Account, int]) -> list[ResourceTotals]:
    """world_in is what WORLD was debited, void_out what VOID was credited, held the rest."""
    sums: dict[str, list[int]] = {}
    for (entity_type, _, resource), quantity in balances.items():
        totals = sums.setdefault(resource, [0, 0, 0])
        if entity_type == WORLD:
            totals[0] -= quantity
        elif entity_type == VOID:
            totals[1] += quantity
        else:
            totals[2] += quantity
    return [ResourceTotals(resource, *sums[resource]) for resource in sorted(sums)]


def sign_anomalies(balances: Mapping[Account, int]) -> list[Anomaly]:
    """Accounts with the wrong sign: any negative but WORLD, a positive WORLD."""
    return [
        negative_balance(key, quantity)
        for key, quantity in sorted(balances.items())
        if (quantity < 0 and key[0] != WORLD) or (quantity > 0 and key[0] == WORLD)
    ]


def conservation_anomalies(totals: Sequence[ResourceTotals]) -> list[Anomaly]:
    return [
        Anomaly(
            "CONSERVATION_VIOLATED",
            f"{t.resource}: world_in {t.world_in} - void_out {t.void_out} = "
            f"{t.world_in - t.void_out}, but {t.held} are held",
            t.resource,
            t.world_in - t.void_out,
            t.held,
        )
        for t in totals
        if not t.conserved
    ]


def balance_mismatches(
    recomputed: Mapping[Account, int], stored: Mapping[Account, int]
) -> list[Anomaly]:
    """Every account whose stored balance differs from the sum of its history."""
    anomalies = []
    for key in sorted(set(recomputed) | set(stored)):
        expected, actual = recomputed.get(key, 0), stored.get(key, 0)
        if expected != actual:
            anomalies.append(
                Anomaly(
                    "BALANCE_MISMATCH",
                    f"{key[0]} {key[1]!r} {key[2]}: history sums to {expected}, "
                    f"stored balance is {actual}",
                    key[2],
                    expected,
                    actual,
                )
            )
    return anomalies


@dataclass(frozen=True, slots=True)
class AuditResult:
    ok: bool
    entries_checked: int
    totals: tuple[ResourceTotals, ...]
    anomalies: tuple[Anomaly, ...]
    digest: str


class Replay:
    """Rebuilds a run's balances tick by tick from stored history, re-checking every rule."""

    def __init__(self) -> None:
        self.book = Book()
        self.entries_checked = 0
        self.anomalies: list[Anomaly] = []

    def add_tick(self, tick: int, entries: Sequence[Entry]) -> None:
        plan = self.book.plan_tick(tick, entries)
        self.entries_checked += len(entries)
        if not plan.accepted:
            # Stored history the rules refuse is itself the finding; apply it anyway so the
            # recomputed balances still describe what the store holds.
            self.anomalies.extend(
                Anomaly("HISTORY_REJECTED", f"tick {tick}: {r.message}") for r in plan.rejections
            )
            plan = _forced_plan(self.book, tick, entries)
        self.anomalies.extend(plan.anomalies)
        self.book.apply(plan)

    def finish(self, stored: Mapping[Account, int]) -> AuditResult:
        totals = conservation(stored)
        anomalies = [
            *self.anomalies,
            *balance_mismatches(self.book.balances, stored),
            *sign_anomalies(stored),
            *conservation_anomalies(totals),
        ]
        return AuditResult(
            not anomalies, self.entries_checked, tuple(totals), tuple(anomalies), self.book.digest()
        )


def _forced_plan(book: Book, tick: int, entries: Sequence[Entry]) -> TickPlan:
    changes: dict[Account, int] = {}
    for entry in entries:
        if not isinstance(entry.quantity, int):
            continue
        for key, delta in (
            (entry.from_account, -entry.quantity),
            (entry.to_account, entry.quantity),
        ):
            changes[key] = changes.get(key, book.balance(key)) + delta
    return TickPlan(tick, (), changes, len(entries))
