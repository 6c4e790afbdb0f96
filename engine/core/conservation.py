"""Engine-side conservation check: per resource, world_in − void_out equals everything held."""

from __future__ import annotations

from dataclasses import dataclass

from engine.core.entries import state_balances
from engine.core.state import WorldState


@dataclass(frozen=True, slots=True)
class Anomaly:
    code: str
    message: str
    resource: str = ""
    expected: int = 0
    actual: int = 0


def check_conservation(state: WorldState) -> list[Anomaly]:
    """Every resource balances and no account is negative; violations are reported, never fixed."""
    held: dict[str, int] = {}
    balances = state_balances(state)
    for (_, _, resource), quantity in balances.items():
        held[resource] = held.get(resource, 0) + quantity
    # Run every tick over every holding: only the (rare) negative ones are sorted, into key order.
    anomalies = [
        Anomaly(
            "NEGATIVE_BALANCE",
            f"{entity_type} {entity_id} holds {quantity} {resource}",
            resource,
            0,
            quantity,
        )
        for (entity_type, entity_id, resource), quantity in sorted(
            (key, quantity) for key, quantity in balances.items() if quantity < 0
        )
    ]
    for resource in sorted(set(held) | set(state.world_in) | set(state.void_out)):
        expected = state.world_in.get(resource, 0) - state.void_out.get(resource, 0)
        actual = held.get(resource, 0)
        if expected != actual:
            anomalies.append(
                Anomaly(
                    "NOT_CONSERVED",
                    f"{resource}: world_in - void_out = {expected} but {actual} is held",
                    resource,
                    expected,
                    actual,
                )
            )
    return anomalies
