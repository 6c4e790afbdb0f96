"""Craft and smelt mints: units may only come out of WORLD against inputs the same agent consumed.

A CRAFT or SMELT records its inputs going to VOID and its outputs coming from WORLD, the legs
sharing a correlation id. Without a check, one output leg alone would mint anything from
nothing (10⁹ water). The ledger does not know the recipes (they are the world's rules), so it
checks what holds for every recipe: an output is a made good of that kind of transformation,
backed in the same correlation group by inputs the same agent gave up, of other resources, in
at most a bounded yield per input unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from ledger_service.core.accounts import AGENT, VOID, WORLD
from ledger_service.core.entries import Entry, Rejection, RejectionCode

# What each transformation can make (the world's crafted goods, cooked food, smelted metal).
MADE_GOODS: Final[Mapping[str, frozenset[str]]] = {
    "CRAFT": frozenset(
        {
            "TOOL",
            "ADVANCED_TOOL",
            "TEXTILE",
            "POTTERY",
            "CURRENCY_TOKEN",
            "WRITTEN_RECORD",
            "COOKED",
        }
    ),
    "SMELT": frozenset({"METAL"}),
}
# Most units of a good made per unit consumed (a metal coin blank strikes five tokens).
MAX_YIELD: Final[Mapping[str, int]] = {"CURRENCY_TOKEN": 5}
DEFAULT_YIELD: Final = 1


@dataclass
class _Group:
    inputs: list[tuple[int, Entry]] = field(default_factory=list)
    outputs: list[tuple[int, Entry]] = field(default_factory=list)


def _groups(entries: Sequence[Entry]) -> dict[tuple[str, str], _Group]:
    groups: dict[tuple[str, str], _Group] = {}
    for index, entry in enumerate(entries):
        if entry.entry_type not in MADE_GOODS:
            continue
        group = groups.setdefault((entry.entry_type, entry.correlation_id), _Group())
        if entry.from_type == WORLD:
            group.outputs.append((index, entry))
        elif entry.to_type == VOID:
            group.inputs.append((index, entry))
    return groups


def _unbacked(index: int, reason: str) -> Rejection:
    return Rejection(index, RejectionCode.UNBACKED_MINT, "correlation_id", reason)


def _check_group(entry_type: str, correlation_id: str, group: _Group) -> list[Rejection]:
    if not group.outputs:
        return []
    first = group.outputs[0][0]
    if not correlation_id:
        return [_unbacked(first, f"a {entry_type} output needs the correlation id of its inputs")]
    if not group.inputs:
        return [
            _unbacked(first, f"{entry_type} {correlation_id!r} makes goods but consumes nothing")
        ]
    makers = {e.from_id for _, e in group.inputs if e.from_type == AGENT}
    consumed = {e.resource for _, e in group.inputs}
    input_units = sum(e.quantity for _, e in group.inputs)
    rejections = []
    for index, entry in group.outputs:
        problem = ""
        if entry.resource not in MADE_GOODS[entry_type]:
            problem = f"{entry_type} cannot make {entry.resource}"
        elif entry.to_type != AGENT or makers != {entry.to_id}:
            problem = "the made goods must go to the one agent who consumed the inputs"
        elif entry.resource in consumed:
            problem = f"{entry.resource} is both consumed and made"
        elif entry.quantity > MAX_YIELD.get(entry.resource, DEFAULT_YIELD) * input_units:
            problem = (
                f"{entry.quantity} {entry.resource} from {input_units} consumed units is more "
                "than any recipe yields"
            )
        if problem:
            rejections.append(_unbacked(index, f"{entry_type} {correlation_id!r}: {problem}"))
    return rejections


def check_mints(entries: Sequence[Entry]) -> list[Rejection]:
    """Code 12: every CRAFT/SMELT output leg backed by its group's inputs (see the module)."""
    rejections: list[Rejection] = []
    for (entry_type, correlation_id), group in _groups(entries).items():
        rejections.extend(_check_group(entry_type, correlation_id, group))
    return sorted(rejections, key=lambda rejection: rejection.entry_index)
