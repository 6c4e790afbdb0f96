"""The book: current balances of one run, planning a tick atomically, then applying the plan."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from ledger_service.core.accounts import VOID, WORLD, Account, is_held
from ledger_service.core.digest import balance_line, digest_of_lines
from ledger_service.core.entries import Anomaly, Entry, Rejection, RejectionCode
from ledger_service.core.mints import check_mints
from ledger_service.core.rules import check_funds, check_shape, check_tick


@dataclass(frozen=True, slots=True)
class TickPlan:
    """What committing a tick would do. Empty `changes` and some `rejections`: nothing applies."""

    tick: int
    rejections: tuple[Rejection, ...]
    # New balance of every account the tick touches (the store writes exactly these rows).
    changes: Mapping[Account, int] = field(default_factory=dict)
    entries_applied: int = 0
    anomalies: tuple[Anomaly, ...] = ()
    digest: str = ""
    new_held_keys: tuple[Account, ...] = ()

    @property
    def accepted(self) -> bool:
        return not self.rejections


class Book:
    """Balances of one run in memory. The service is the single writer, so this is the truth
    the store mirrors; `plan_tick` never mutates, `apply` only applies an accepted plan."""

    def __init__(self, balances: Mapping[Account, int] | None = None) -> None:
        self._balances: dict[Account, int] = dict(balances or {})
        # Held accounts in key order, so the digest needs no sort per tick.
        self._held_keys: list[Account] = sorted(key for key in self._balances if is_held(key))
        # The digest's line of every held account with units, kept as balances change: a tick
        # touches a few hundred accounts of thousands, so most lines are not written again.
        self._lines: dict[Account, str] = {
            key: balance_line(key, self._balances[key])
            for key in self._held_keys
            if self._balances[key]
        }

    @property
    def balances(self) -> Mapping[Account, int]:
        return MappingProxyType(self._balances)

    def balance(self, key: Account) -> int:
        return self._balances.get(key, 0)

    def digest(self) -> str:
        return self.digest_after({}, ())

    def _check_opening(self, entry: Entry, index: int) -> Rejection | None:
        """OPENING entries (a fork's opening balances) only go into a book that holds nothing."""
        if entry.entry_type != "OPENING" or not any(self._balances.values()):
            return None
        return Rejection(
            index,
            RejectionCode.PAIR_NOT_ALLOWED,
            "entry_type",
            f"entries[{index}].entry_type: OPENING entries open an empty book only (a forked"
            " run's first tick); this run's book already holds units",
        )

    def plan_tick(self, tick: int, entries: Sequence[Entry]) -> TickPlan:
        """Check every entry in order against the running balances of this tick (a later entry
        may spend what an earlier one credited). Any rejection means the plan changes nothing."""
        changes: dict[Account, int] = {}
        rejections: list[Rejection] = []
        balances = self._balances
        for index, entry in enumerate(entries):
            rejection = check_shape(entry, index) or self._check_opening(entry, index)
            if rejection is not None:
                rejections.append(rejection)
                continue
            source = entry.from_account
            source_balance = changes.get(source)
            if source_balance is None:
                source_balance = balances.get(source, 0)
            rejection = check_funds(entry, index, source_balance) or check_tick(entry, index, tick)
            if rejection is not None:
                rejections.append(rejection)
                continue
            target = entry.to_account
            target_balance = changes.get(target)
            if target_balance is None:
                target_balance = balances.get(target, 0)
            changes[source] = source_balance - entry.quantity
            changes[target] = target_balance + entry.quantity
        if not rejections:
            rejections = check_mints(entries)
        if rejections:
            return TickPlan(tick, tuple(rejections), digest=self.digest())
        new_keys = tuple(sorted(k for k in changes if k not in balances and is_held(k)))
        return TickPlan(
            tick,
            (),
            changes,
            len(entries),
            self.conservation_check(changes),
            self.digest_after(changes, new_keys),
            new_keys,
        )

    def apply(self, plan: TickPlan) -> None:
        if not plan.accepted:
            raise ValueError(f"tick {plan.tick} was rejected; a rejected plan cannot be applied")
        self._balances.update(plan.changes)
        for key in plan.new_held_keys:
            bisect.insort(self._held_keys, key)
        lines = self._lines
        for key, quantity in plan.changes.items():
            if not is_held(key):
                continue
            if quantity:
                lines[key] = balance_line(key, quantity)
            else:
                lines.pop(key, None)

    def conservation_check(self, changes: Mapping[Account, int]) -> tuple[Anomaly, ...]:
        """Conservation over the touched accounts only: per resource, what the held accounts
        gained must equal what left WORLD minus what entered VOID; and no sign is wrong."""
        flows: dict[str, list[int]] = {}  # resource -> [held delta, world in, void out]
        anomalies: list[Anomaly] = []
        for key, new in changes.items():
            old = self._balances.get(key, 0)
            flow = flows.setdefault(key[2], [0, 0, 0])
            if key[0] == WORLD:
                flow[1] += old - new
            elif key[0] == VOID:
                flow[2] += new - old
            else:
                flow[0] += new - old
            if (new < 0 and key[0] != WORLD) or (new > 0 and key[0] == WORLD):
                anomalies.append(negative_balance(key, new))
        for resource in sorted(flows):
            held, world_in, void_out = flows[resource]
            if held != world_in - void_out:
                anomalies.append(
                    Anomaly(
                        "CONSERVATION_VIOLATED",
                        f"{resource}: held changed by {held} but world_in - void_out changed "
                        f"by {world_in - void_out}",
                        resource,
                        world_in - void_out,
                        held,
                    )
                )
        return tuple(anomalies)

    def digest_after(self, changes: Mapping[Account, int], new_keys: Sequence[Account]) -> str:
        keys: Sequence[Account] = self._held_keys
        if new_keys:
            keys = sorted([*self._held_keys, *new_keys])
        held = self._lines
        lines = []
        for key in keys:
            quantity = changes.get(key)
            if quantity is None:
                line = held.get(key)
                if line is not None:
                    lines.append(line)
            elif quantity:
                lines.append(balance_line(key, quantity))
        return digest_of_lines(lines)


def negative_balance(key: Account, quantity: int) -> Anomaly:
    side = "positive" if key[0] == WORLD else "negative"
    return Anomaly(
        "NEGATIVE_BALANCE",
        f"{key[0]} {key[1]!r} {key[2]} is {side}: {quantity}",
        key[2],
        0,
        quantity,
    )
