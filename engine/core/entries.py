"""Double-entry ledger records and the balance digest both the engine and the ledger compute."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from engine.core.state import WorldState


@dataclass(frozen=True, slots=True)
class Entry:
    """Move `quantity` of `resource` from one account to another (types as ledger EntityType names
    without prefix: "AGENT", "LOCATION_NODE", ...; ids empty for WORLD and VOID)."""

    entry_type: str
    from_type: str
    from_id: str
    to_type: str
    to_id: str
    resource: str
    quantity: int
    memo: str = ""
    correlation_id: str = ""


Account = tuple[str, str, str]  # (entity type, entity id, resource)


def balance_digest(balances: Mapping[Account, int]) -> str:
    """sha256 over the sorted non-zero (account type, id, resource, quantity) lines."""
    lines = [
        f"{entity_type}|{entity_id}|{resource}|{quantity}\n"
        for (entity_type, entity_id, resource), quantity in sorted(balances.items())
        if quantity
    ]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def state_balances(state: WorldState) -> dict[Account, int]:
    """Every non-zero holding in the world, keyed like the ledger's accounts."""
    balances: dict[Account, int] = {}

    def put(entity_type: str, entity_id: str, holdings: Mapping[str, int]) -> None:
        for resource, quantity in holdings.items():
            if quantity:
                key = (entity_type, entity_id, resource)
                balances[key] = balances.get(key, 0) + quantity

    for agent in state.agents.values():
        put("AGENT", agent.id, agent.inventory)
    for location in state.locations.values():
        put("LOCATION_NODE", location.id, {r: n.available for r, n in location.nodes.items()})
        put("LOCATION_GROUND", location.id, location.ground)
    for structure in state.structures.values():
        put("STRUCTURE", structure.id, structure.materials)
        put("STRUCTURE", structure.id, structure.storage)
    for group in state.groups.values():
        put("GROUP_STORE", group.id, group.store)
    return balances


def state_digest(state: WorldState) -> str:
    return balance_digest(state_balances(state))
