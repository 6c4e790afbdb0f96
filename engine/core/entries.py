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
    """Every non-zero holding in the world, keyed like the ledger's accounts (made twice a tick,
    for the conservation check and the digest: plain loops, no call per holder)."""
    balances: dict[Account, int] = {}
    for agent in state.agents.values():
        if agent.inventory:
            agent_id = agent.id
            for resource, quantity in agent.inventory.items():
                if quantity:
                    balances["AGENT", agent_id, resource] = quantity
    for location in state.locations.values():
        location_id = location.id
        for resource, node in location.nodes.items():
            if node.available:
                balances["LOCATION_NODE", location_id, resource] = node.available
        for resource, quantity in location.ground.items():
            if quantity:
                balances["LOCATION_GROUND", location_id, resource] = quantity
    for structure in state.structures.values():
        for holdings in (structure.materials, structure.storage):
            for resource, quantity in holdings.items():
                if quantity:
                    key = ("STRUCTURE", structure.id, resource)
                    balances[key] = balances.get(key, 0) + quantity
    for group in state.groups.values():
        for resource, quantity in group.store.items():
            if quantity:
                balances["GROUP_STORE", group.id, resource] = quantity
    return balances


def state_digest(state: WorldState) -> str:
    return balance_digest(state_balances(state))
