"""The hidden tech tree: seed knowledge by level, prerequisites, and what each action needs to know."""

from __future__ import annotations

SEED_LEVELS: tuple[tuple[str, ...], ...] = (
    ("exist", "perceive", "move", "basic_communication"),
    (
        "gather_food", "gather_wood", "gather_stone", "drink_water", "eat", "rest",
        "build_campfire", "build_lean_to", "basic_trade",
    ),
    (
        "agriculture", "build_hut", "build_storage", "pottery", "animal_tracking",
        "basic_medicine", "barter_system", "group_formation", "territorial_claim", "oral_tradition",
    ),
    (
        "metalworking", "build_forge", "masonry", "written_language", "currency_concept",
        "legislation", "organized_labor", "build_wall", "basic_engineering", "bridge_building",
    ),
    # Level 4 (industrial) and 5 (modern) extend the tree in the same spirit (see the ADR).
    ("advanced_tools", "mass_production", "printing", "banking", "justice_system", "taxation"),
    ("electricity", "medicine_science", "democracy", "internet"),
)  # fmt: skip

# Pseudo-knowledge: facts of experience that unlock discoveries but are not skills to teach.
EXPERIENCE_ITEMS = frozenset({"observe_seasons", "handled_clay"})

PREREQUISITES: dict[str, tuple[str, ...]] = {
    "agriculture": ("gather_food", "observe_seasons"),
    "food_preservation": ("agriculture", "build_storage"),
    "basic_tools": ("gather_wood", "gather_stone"),
    "mining": ("basic_tools", "gather_stone"),
    "smelting": ("mining", "build_campfire"),
    "metalworking": ("smelting", "basic_tools"),
    "oral_tradition": ("basic_communication", "group_formation"),
    "written_language": ("oral_tradition", "handled_clay"),
    "library": ("written_language", "build_hut"),
    "barter_system": ("basic_trade", "group_formation"),
    "currency_concept": ("barter_system", "written_language"),
    "taxation": ("currency_concept", "group_formation"),
    "governance": ("group_formation", "territorial_claim"),
    "legislation": ("governance", "written_language"),
    "justice_system": ("legislation", "group_formation"),
    "cooking": ("gather_food", "build_campfire"),
    # Additions (documented in the ADR) so every blueprint and action is reachable by discovery.
    "build_hut": ("build_lean_to", "gather_stone"),
    "build_storage": ("build_hut",),
    "group_formation": ("basic_trade", "basic_communication"),
    "territorial_claim": ("build_lean_to",),
    "basic_medicine": ("gather_food", "animal_tracking"),
    "animal_tracking": ("gather_food",),
    "pottery": ("handled_clay", "build_campfire"),
    "masonry": ("gather_stone", "basic_tools"),
    "build_forge": ("smelting", "masonry"),
    "build_wall": ("masonry", "organized_labor"),
    "organized_labor": ("group_formation", "basic_tools"),
    "basic_engineering": ("masonry", "basic_tools"),
    "bridge_building": ("basic_engineering",),
    "advanced_tools": ("metalworking", "basic_engineering"),
    "textiles": ("gather_food", "basic_tools"),
}

# What each item is a prerequisite of (practising it may reveal these by experiment).
LEADS_TO: dict[str, tuple[str, ...]] = {
    need: tuple(sorted(item for item, needs in PREREQUISITES.items() if need in needs))
    for need in sorted({need for needs in PREREQUISITES.values() for need in needs})
}

# Items too advanced to pass to a child at birth (they must be learned).
ADVANCED_ITEMS = frozenset(item for level in SEED_LEVELS[3:] for item in level)

GATHER_KNOWLEDGE: dict[str, str] = {
    "BERRY": "gather_food", "ROOT": "gather_food", "FISH": "gather_food",
    "MEAT": "animal_tracking", "HIDE": "animal_tracking", "WOOD": "gather_wood",
    "STONE": "gather_stone", "CLAY": "gather_stone", "FIBER": "gather_food",
    "WATER": "drink_water", "ORE": "mining", "MEDICINE": "basic_medicine",
}  # fmt: skip


def seed_knowledge(level: int) -> set[str]:
    """Every item of the levels up to `level` (0 = blank slate)."""
    known: set[str] = set()
    for items in SEED_LEVELS[: max(0, level) + 1]:
        known.update(items)
    return known


def prerequisites_met(item: str, known: set[str]) -> bool:
    return all(need in known for need in PREREQUISITES.get(item, ()))


def discoverable(known: set[str]) -> list[str]:
    """Items not yet known whose prerequisites are all known, in name order."""
    return sorted(
        item for item in PREREQUISITES if item not in known and prerequisites_met(item, known)
    )


def all_items() -> set[str]:
    items = set(PREREQUISITES)
    for level in SEED_LEVELS:
        items.update(level)
    return items
