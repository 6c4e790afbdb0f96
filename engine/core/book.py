"""The only way resources move: each method changes holdings and records the matching ledger entry.

Keeping the state change and the entry in one place is what makes the engine's books and the
ledger service agree; nothing else in the core writes to an inventory, node, ground or store.
"""

from __future__ import annotations

from engine.core.entries import Entry
from engine.core.state import Agent, Group, Location, Structure, WorldState


def _take(holdings: dict[str, int], resource: str, quantity: int, owner: str) -> None:
    held = holdings.get(resource, 0)
    if quantity <= 0 or held < quantity:
        raise ValueError(f"{owner} holds {held} {resource}, cannot move {quantity}")
    if held == quantity:
        del holdings[resource]
    else:
        holdings[resource] = held - quantity


def _put(holdings: dict[str, int], resource: str, quantity: int) -> None:
    holdings[resource] = holdings.get(resource, 0) + quantity


class Book:
    """Collects the entries of one phase while applying them to the state."""

    def __init__(self, state: WorldState) -> None:
        self.state = state
        self.entries: list[Entry] = []

    def _record(self, entry: Entry) -> None:
        self.entries.append(entry)
        if entry.from_type == "WORLD":
            world_in = self.state.world_in
            world_in[entry.resource] = world_in.get(entry.resource, 0) + entry.quantity
        if entry.to_type == "VOID":
            void_out = self.state.void_out
            void_out[entry.resource] = void_out.get(entry.resource, 0) + entry.quantity

    def regenerate(self, location: Location, resource: str, quantity: int) -> None:
        if quantity <= 0:
            return
        location.nodes[resource].available += quantity
        self._record(
            Entry("REGENERATION", "WORLD", "", "LOCATION_NODE", location.id, resource, quantity)
        )

    def grow_crop(self, structure: Structure, resource: str, quantity: int) -> None:
        _put(structure.storage, resource, quantity)
        self._record(
            Entry("REGENERATION", "WORLD", "", "STRUCTURE", structure.id, resource, quantity)
        )

    def gather(self, agent: Agent, location: Location, resource: str, quantity: int) -> None:
        node = location.nodes[resource]
        if quantity <= 0 or node.available < quantity:
            raise ValueError(f"node {location.id}/{resource} has {node.available}, not {quantity}")
        node.available -= quantity
        _put(agent.inventory, resource, quantity)
        self._record(
            Entry("GATHER", "LOCATION_NODE", location.id, "AGENT", agent.id, resource, quantity)
        )

    def harvest(self, agent: Agent, structure: Structure, resource: str, quantity: int) -> None:
        _take(structure.storage, resource, quantity, structure.id)
        _put(agent.inventory, resource, quantity)
        self._record(
            Entry("GATHER", "STRUCTURE", structure.id, "AGENT", agent.id, resource, quantity)
        )

    def consume(self, agent: Agent, resource: str, quantity: int, memo: str = "") -> None:
        _take(agent.inventory, resource, quantity, agent.id)
        self._record(Entry("CONSUME", "AGENT", agent.id, "VOID", "", resource, quantity, memo))

    def consume_node(
        self, location: Location, resource: str, quantity: int, memo: str = ""
    ) -> None:
        node = location.nodes[resource]
        if quantity <= 0 or node.available < quantity:
            raise ValueError(f"node {location.id}/{resource} has {node.available}, not {quantity}")
        node.available -= quantity
        self._record(
            Entry("CONSUME", "LOCATION_NODE", location.id, "VOID", "", resource, quantity, memo)
        )

    def transfer(
        self, giver: Agent, receiver: Agent, resource: str, quantity: int, memo: str = ""
    ) -> None:
        _take(giver.inventory, resource, quantity, giver.id)
        _put(receiver.inventory, resource, quantity)
        self._record(
            Entry("TRANSFER", "AGENT", giver.id, "AGENT", receiver.id, resource, quantity, memo)
        )

    def deposit(self, agent: Agent, structure: Structure, resource: str, quantity: int) -> None:
        _take(agent.inventory, resource, quantity, agent.id)
        _put(structure.storage, resource, quantity)
        self._record(
            Entry("TRANSFER", "AGENT", agent.id, "STRUCTURE", structure.id, resource, quantity)
        )

    def withdraw(self, agent: Agent, structure: Structure, resource: str, quantity: int) -> None:
        _take(structure.storage, resource, quantity, structure.id)
        _put(agent.inventory, resource, quantity)
        self._record(
            Entry("TRANSFER", "STRUCTURE", structure.id, "AGENT", agent.id, resource, quantity)
        )

    def to_group(self, agent: Agent, group: Group, resource: str, quantity: int) -> None:
        _take(agent.inventory, resource, quantity, agent.id)
        _put(group.store, resource, quantity)
        self._record(
            Entry("TRANSFER", "AGENT", agent.id, "GROUP_STORE", group.id, resource, quantity)
        )

    def build(self, agent: Agent, structure: Structure, resource: str, quantity: int) -> None:
        _take(agent.inventory, resource, quantity, agent.id)
        _put(structure.materials, resource, quantity)
        self._record(
            Entry("BUILD", "AGENT", agent.id, "STRUCTURE", structure.id, resource, quantity)
        )

    def build_route(self, agent: Agent, resource: str, quantity: int, memo: str) -> None:
        _take(agent.inventory, resource, quantity, agent.id)
        self._record(Entry("BUILD", "AGENT", agent.id, "VOID", "", resource, quantity, memo))

    def decay_structure(self, structure: Structure, resource: str, quantity: int) -> None:
        _take(structure.materials, resource, quantity, structure.id)
        self._record(Entry("DECAY", "STRUCTURE", structure.id, "VOID", "", resource, quantity))

    def decay_storage(self, structure: Structure, resource: str, quantity: int) -> None:
        _take(structure.storage, resource, quantity, structure.id)
        self._record(Entry("DECAY", "STRUCTURE", structure.id, "VOID", "", resource, quantity))

    def decay_node(self, location: Location, resource: str, quantity: int, memo: str = "") -> None:
        node = location.nodes[resource]
        node.available -= quantity
        self._record(
            Entry("DECAY", "LOCATION_NODE", location.id, "VOID", "", resource, quantity, memo)
        )

    def salvage_to_agent(
        self,
        structure: Structure,
        agent: Agent,
        holdings: dict[str, int],
        resource: str,
        quantity: int,
    ) -> None:
        _take(holdings, resource, quantity, structure.id)
        _put(agent.inventory, resource, quantity)
        self._record(
            Entry("SALVAGE", "STRUCTURE", structure.id, "AGENT", agent.id, resource, quantity)
        )

    def salvage_to_ground(
        self, structure: Structure, holdings: dict[str, int], resource: str, quantity: int
    ) -> None:
        location = self.state.locations[structure.location_id]
        _take(holdings, resource, quantity, structure.id)
        _put(location.ground, resource, quantity)
        self._record(
            Entry(
                "SALVAGE",
                "STRUCTURE",
                structure.id,
                "LOCATION_GROUND",
                location.id,
                resource,
                quantity,
            )
        )

    def drop(
        self, agent: Agent, location: Location, resource: str, quantity: int, memo: str
    ) -> None:
        _take(agent.inventory, resource, quantity, agent.id)
        _put(location.ground, resource, quantity)
        self._record(
            Entry(
                "DROP", "AGENT", agent.id, "LOCATION_GROUND", location.id, resource, quantity, memo
            )
        )

    def pickup(self, agent: Agent, location: Location, resource: str, quantity: int) -> None:
        _take(location.ground, resource, quantity, location.id)
        _put(agent.inventory, resource, quantity)
        self._record(
            Entry("PICKUP", "LOCATION_GROUND", location.id, "AGENT", agent.id, resource, quantity)
        )

    def decay_ground(self, location: Location, resource: str, quantity: int) -> None:
        _take(location.ground, resource, quantity, location.id)
        self._record(Entry("DECAY", "LOCATION_GROUND", location.id, "VOID", "", resource, quantity))

    def craft(
        self,
        entry_type: str,
        agent: Agent,
        inputs: dict[str, int],
        outputs: dict[str, int],
        correlation_id: str,
    ) -> None:
        """Inputs to the void and outputs from the world, legs sharing a correlation id."""
        for resource, quantity in sorted(inputs.items()):
            _take(agent.inventory, resource, quantity, agent.id)
            self._record(
                Entry(
                    entry_type,
                    "AGENT",
                    agent.id,
                    "VOID",
                    "",
                    resource,
                    quantity,
                    "",
                    correlation_id,
                )
            )
        for resource, quantity in sorted(outputs.items()):
            _put(agent.inventory, resource, quantity)
            self._record(
                Entry(
                    entry_type,
                    "WORLD",
                    "",
                    "AGENT",
                    agent.id,
                    resource,
                    quantity,
                    "",
                    correlation_id,
                )
            )
