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

# The foods, best first (what each is worth comes with the perception: Situation.food_value).
FOODS: tuple[str, ...] = ("COOKED", "FARMED", "MEAT", "FISH", "BERRY", "ROOT")
RAW_FOODS: tuple[str, ...] = ("MEAT", "FISH", "BERRY", "ROOT")

# Amount words the engine uses for fuzzy quantities, poorest first.
AMOUNT_WORDS: tuple[str, ...] = ("none", "scarce", "limited", "moderate", "abundant", "plentiful")


def amount_rank(word: str) -> int:
    """0 for none up to 5 for plentiful; unknown words count as scarce."""
    return AMOUNT_WORDS.index(word) if word in AMOUNT_WORDS else 1


def params_field(action_type: str) -> str:
    """The oneof field of action_pb2.Action that carries this action type's parameters."""
    return action_type.lower()
