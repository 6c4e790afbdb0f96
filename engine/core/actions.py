"""Domain actions, rejections and results: what an agent asks for and what came of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

ACTION_TYPES = (
    "NO_ACTION", "GATHER", "EAT", "DRINK", "REST", "MOVE", "EXPLORE", "PICKUP", "HEAL", "BUILD",
    "REPAIR", "DEMOLISH", "IMPROVE_ROUTE", "DEPOSIT", "WITHDRAW", "COMMUNICATE", "BROADCAST",
    "TRADE_OFFER", "TRADE_ACCEPT", "TRADE_REJECT", "GIVE", "FORM_GROUP", "JOIN_GROUP",
    "LEAVE_GROUP", "TEACH", "FARM_PLANT", "FARM_HARVEST", "CRAFT", "COOK", "MINE", "SMELT",
    "WRITE", "READ", "CLAIM", "LEGISLATE", "ENFORCE", "REPRODUCE", "STEAL", "ATTACK", "PROPOSE",
    "VOTE", "MARRY", "DIVORCE", "CONSPIRE", "PRAY", "FREEFORM",
)  # fmt: skip

Items = tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Action:
    """One action. `type` is the ActionType name without prefix; only the fields it uses are set.

    target_id: agent, structure, route, location, trade, group or proposal id, as the type needs.
    resource: a Resource name without prefix ("WOOD"); structure: a StructureKind name ("CAMPFIRE").
    items / want: resource amounts (give, fine, deposit, pickup); agent_ids: members or recipients.
    """

    type: str
    target_id: str = ""
    resource: str = ""
    structure: str = ""
    text: str = ""
    knowledge: str = ""
    name: str = ""
    kind: str = ""
    items: Items = ()
    want: Items = ()
    agent_ids: tuple[str, ...] = ()
    flag: bool = False
    route_id: str = ""


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why an action was refused: reason (RejectionReason name without prefix) and what to do."""

    reason: str
    message: str
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ActionResult:
    agent_id: str
    tick: int
    action_type: str
    success: bool
    rejection: Rejection | None = None
    outcome: str = ""
    energy_spent: float = 0.0
    gained: Mapping[str, int] = field(default_factory=dict)
    lost: Mapping[str, int] = field(default_factory=dict)
    action: Action | None = None


def reject(reason: str, message: str, **details: object) -> Rejection:
    return Rejection(reason, message, {key: str(value) for key, value in details.items()})


def items_dict(items: Items) -> dict[str, int]:
    merged: dict[str, int] = {}
    for resource, quantity in items:
        merged[resource] = merged.get(resource, 0) + quantity
    return merged


def describe_items(items: Mapping[str, int]) -> str:
    if not items:
        return "nothing"
    return ", ".join(
        f"{quantity} {resource.lower()}" for resource, quantity in sorted(items.items())
    )
