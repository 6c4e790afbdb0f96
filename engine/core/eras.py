"""Eras (world spec §10): labels read off the world's milestones, never forced."""

from __future__ import annotations

from engine.core.context import Phase
from engine.core.state import WorldState

ERAS = (
    "PRIMITIVE", "TRIBAL", "AGRICULTURAL", "SETTLEMENT", "BRONZE", "IRON", "CLASSICAL",
    "MEDIEVAL", "INDUSTRIAL", "MODERN",
)  # fmt: skip
SHELTERS = frozenset({"LEAN_TO", "BASIC_HUT"})


def era_reached(state: WorldState) -> tuple[str, str]:
    """The highest era whose milestone holds, with the milestone in words."""
    known = state.first_discoveries
    sheltered = {a for s in state.structures.values() if s.kind in SHELTERS for a in s.occupant_ids}
    milestones = (
        ("TRIBAL", bool(state.groups), "a group formed"),
        ("AGRICULTURAL", "agriculture" in known, "agriculture discovered"),
        ("SETTLEMENT", len(sheltered) >= 3, "permanent shelters in use by several agents"),
        ("BRONZE", "metalworking" in known, "metalworking discovered"),
        ("IRON", "advanced_tools" in known, "advanced tools made"),
        ("CLASSICAL", {"written_language", "governance"} <= known, "writing and governance"),
        ("MEDIEVAL", {"legislation", "justice_system", "currency_concept"} <= known,
         "legislation, justice and currency"),
        ("INDUSTRIAL", "mass_production" in known, "mass production"),
        ("MODERN", "electricity" in known, "electricity"),
    )  # fmt: skip
    era, milestone = "PRIMITIVE", ""
    for name, reached, words in milestones:
        if reached:
            era, milestone = name, words
    return era, milestone


def update_era(phase: Phase) -> None:
    state = phase.state
    era, milestone = era_reached(state)
    if ERAS.index(era) > ERAS.index(state.era):
        phase.emit(
            "ERA_CHANGED",
            detail_kind="era",
            details={
                "previous": f"ERA_{state.era}",
                "current": f"ERA_{era}",
                "milestone": milestone,
            },
        )
        state.era = era
