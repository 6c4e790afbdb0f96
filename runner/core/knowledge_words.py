"""Knowledge the heuristic brain values, in the order it would teach or pursue it."""

from __future__ import annotations

# Items worth teaching, most useful first; everyone starts with gathering, fire and lean-tos.
TEACHABLE_FIRST: tuple[str, ...] = (
    "cooking", "agriculture", "group_formation", "basic_tools", "build_hut", "build_storage",
    "animal_tracking", "basic_medicine", "pottery", "masonry", "territorial_claim",
    "barter_system", "oral_tradition", "mining", "smelting", "textiles", "organized_labor",
    "governance", "written_language", "basic_engineering", "food_preservation", "metalworking",
)  # fmt: skip

# Knowledge of the medieval level and beyond (world.md §8): a child never inherits it from its
# parents, so it is the first thing worth offering a child.
NOT_INHERITED: frozenset[str] = frozenset({
    "metalworking", "build_forge", "masonry", "written_language", "currency_concept",
    "legislation", "organized_labor", "build_wall", "basic_engineering", "bridge_building",
    "advanced_tools", "mass_production", "printing", "banking", "justice_system", "taxation",
    "electricity", "medicine_science", "democracy", "internet",
})  # fmt: skip

# What each structure needs known, what it costs, and why an agent would want it.
BLUEPRINTS: dict[str, tuple[str, dict[str, int]]] = {
    "CAMPFIRE": ("build_campfire", {"WOOD": 3}),
    "LEAN_TO": ("build_lean_to", {"WOOD": 8}),
    "BASIC_HUT": ("build_hut", {"WOOD": 20, "STONE": 10}),
    "STORAGE_PIT": ("build_storage", {"STONE": 10, "WOOD": 5}),
    "WELL": ("masonry", {"STONE": 20}),
    "FARM_PLOT": ("agriculture", {"WOOD": 15}),
    "WORKSHOP": ("basic_tools", {"WOOD": 30, "STONE": 20}),
}
