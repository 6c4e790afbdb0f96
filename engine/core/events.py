"""Domain events: what happened, as plain values the adapters turn into protobuf Events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """One fact of history.

    `type` is the proto EventType name without its prefix ("TRADE_COMPLETED"); `detail_kind` names
    the Event.details oneof field ("trade"); `details` holds that message's fields as plain values
    (enums as full proto enum names such as "RESOURCE_WOOD", nested messages as dicts).
    """

    type: str
    agent_id: str = ""
    location_id: str = ""
    detail_kind: str = ""
    details: Mapping[str, object] = field(default_factory=dict)


def amounts(items: Mapping[str, int]) -> list[dict[str, object]]:
    """Resource amounts as ResourceAmount dicts, in resource order."""
    return [
        {"resource": f"RESOURCE_{resource}", "quantity": quantity}
        for resource, quantity in sorted(items.items())
        if quantity > 0
    ]
