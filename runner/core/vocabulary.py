"""Names of actions, resources and structures as the protobuf enums spell them, both ways."""

from __future__ import annotations

from emergence.v1 import action_pb2, common_pb2

ACTION_TYPES: dict[str, int] = {
    name.removeprefix("ACTION_TYPE_"): value
    for name, value in action_pb2.ActionType.items()
    if value != action_pb2.ACTION_TYPE_UNSPECIFIED
}
ACTION_NAMES: dict[int, str] = {value: name for name, value in ACTION_TYPES.items()}

RESOURCES: dict[str, int] = {
    name.removeprefix("RESOURCE_"): value
    for name, value in common_pb2.Resource.items()
    if value != common_pb2.RESOURCE_UNSPECIFIED
}
RESOURCE_NAMES: dict[int, str] = {value: name for name, value in RESOURCES.items()}

STRUCTURES: dict[str, int] = {
    name.removeprefix("STRUCTURE_KIND_"): value
    for name, value in common_pb2.StructureKind.items()
    if value != common_pb2.STRUCTURE_KIND_UNSPECIFIED
}
STRUCTURE_NAMES: dict[int, str] = {value: name for name, value in STRUCTURES.items()}

PROPOSAL_KINDS: dict[str, int] = {
    name.removeprefix("PROPOSAL_KIND_"): value
    for name, value in action_pb2.ProposalKind.items()
    if value != action_pb2.PROPOSAL_KIND_UNSPECIFIED
}

# Best food first: what eating one unit removes from hunger (engine/core/README.md).
FOOD_VALUES: dict[str, int] = {
    "COOKED": 50,
    "FARMED": 40,
    "MEAT": 35,
    "FISH": 30,
    "BERRY": 20,
    "ROOT": 15,
}
FOODS: tuple[str, ...] = tuple(FOOD_VALUES)
RAW_FOODS: tuple[str, ...] = ("MEAT", "FISH", "BERRY", "ROOT")

# Rough worth of one unit, used to judge whether a trade looks fair.
RESOURCE_WORTH: dict[str, float] = {
    "WATER": 1.0, "BERRY": 1.0, "ROOT": 1.0, "FISH": 1.5, "MEAT": 2.0, "FARMED": 2.0,
    "COOKED": 2.5, "WOOD": 1.0, "STONE": 1.5, "FIBER": 1.0, "CLAY": 1.5, "HIDE": 2.0,
    "ORE": 2.5, "METAL": 6.0, "MEDICINE": 4.0, "TOOL": 8.0, "ADVANCED_TOOL": 20.0,
    "CURRENCY_TOKEN": 1.5, "WRITTEN_RECORD": 4.0, "TEXTILE": 4.0, "POTTERY": 5.0,
}  # fmt: skip

# Amount words the engine uses for fuzzy quantities, poorest first.
AMOUNT_WORDS: tuple[str, ...] = ("none", "scarce", "limited", "moderate", "abundant", "plentiful")


def amount_rank(word: str) -> int:
    """0 for none up to 5 for plentiful; unknown words count as scarce."""
    return AMOUNT_WORDS.index(word) if word in AMOUNT_WORDS else 1


def params_field(action_type: str) -> str:
    """The oneof field of action_pb2.Action that carries this action type's parameters."""
    return action_type.lower()
