"""Names the ledger knows: entity types, resources, entry types, and the account key."""

from __future__ import annotations

from typing import Final

# Names match the protobuf enums without their prefix (ENTITY_TYPE_AGENT -> "AGENT").
WORLD: Final = "WORLD"
VOID: Final = "VOID"
AGENT: Final = "AGENT"
LOCATION_NODE: Final = "LOCATION_NODE"
LOCATION_GROUND: Final = "LOCATION_GROUND"
STRUCTURE: Final = "STRUCTURE"
GROUP_STORE: Final = "GROUP_STORE"

ENTITY_TYPES: Final = frozenset(
    {WORLD, VOID, AGENT, LOCATION_NODE, LOCATION_GROUND, STRUCTURE, GROUP_STORE}
)
# WORLD and VOID are single accounts per resource; every other type needs an entity id.
SINGLETON_TYPES: Final = frozenset({WORLD, VOID})

RESOURCES: Final = frozenset(
    {
        "WATER", "BERRY", "FISH", "ROOT", "MEAT", "FARMED", "COOKED", "WOOD", "STONE", "FIBER",
        "CLAY", "HIDE", "ORE", "METAL", "MEDICINE", "TOOL", "ADVANCED_TOOL", "CURRENCY_TOKEN",
        "WRITTEN_RECORD", "TEXTILE", "POTTERY",
    }
)  # fmt: skip

ENTRY_TYPES: Final = frozenset(
    {
        "REGENERATION", "GATHER", "CONSUME", "TRANSFER", "BUILD", "DECAY", "SALVAGE", "DROP",
        "PICKUP", "CRAFT", "SMELT", "OPENING",
    }
)  # fmt: skip

# (entity type, entity id, resource); the id is "" for WORLD and VOID.
Account = tuple[str, str, str]

# The largest quantity a balance column (and the int64 wire field) can hold.
MAX_QUANTITY: Final = 2**63 - 1


def account(entity_type: str, entity_id: str, resource: str) -> Account:
    """The account key; WORLD and VOID ignore any id so each stays one account per resource."""
    return (entity_type, "" if entity_type in SINGLETON_TYPES else entity_id, resource)


def is_held(key: Account) -> bool:
    """True for accounts that hold units inside the world (everything but WORLD and VOID)."""
    return key[0] not in SINGLETON_TYPES
