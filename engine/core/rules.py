"""The handler table shape and small validation helpers shared by every action module."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from engine.core.actions import Action, Rejection, describe_items, reject
from engine.core.context import Phase, notify
from engine.core.events import amounts
from engine.core.state import Agent, Structure, WorldState


@dataclass(frozen=True, slots=True)
class Done:
    """A successful execution: what the agent sees, and what it gained and lost."""

    outcome: str
    gained: Mapping[str, int] = field(default_factory=dict)
    lost: Mapping[str, int] = field(default_factory=dict)
    # Knowledge this act displayed to onlookers (for observation learning).
    shows: str = ""


Check = Callable[[Phase, Agent, Action], Rejection | None]
Execute = Callable[[Phase, Agent, Action], Done]


@dataclass(frozen=True, slots=True)
class Handler:
    """check: the conditions the actor can know (their own state and what anyone here sees);
    availability lists an action when it passes. consent: conditions on another agent's private
    state (health, trust, holdings, knowledge, willingness), tried only when the action is
    actually taken, and refused with no more than that agent's answer ("they declined")."""

    check: Check
    execute: Execute
    consent: Check | None = None


def declined(other: Agent, what: str = "") -> Rejection:
    """The refusal for a condition on another agent's private state: no reason, no figures."""
    return reject("UNAVAILABLE_TARGET", f"{other.name} declined{what}", target=other.id)


def need_items(agent: Agent, needs: Mapping[str, int], purpose: str) -> Rejection | None:
    missing = {r: q for r, q in needs.items() if agent.inventory.get(r, 0) < q}
    if not missing:
        return None
    held = {r: agent.inventory.get(r, 0) for r in missing}
    return reject(
        "INSUFFICIENT_RESOURCES",
        f"{purpose} needs {describe_items(dict(needs))}; you hold {describe_items(held) if any(held.values()) else 'none of it'}",
        needs=describe_items(dict(needs)),
        holds=describe_items(held),
    )


def need_knowledge(agent: Agent, item: str, purpose: str) -> Rejection | None:
    if not item or item in agent.knowledge:
        return None
    return reject(
        "UNKNOWN_ACTION",
        f"{purpose} needs the knowledge '{item}', which you do not have; learn it by teaching, "
        "reading, watching others or experimenting",
        knowledge=item,
    )


def target_here(state: WorldState, agent: Agent, target_id: str, role: str) -> Rejection | None:
    """The target must be a living agent at the same location (and not the actor)."""
    if not target_id:
        return reject("INVALID_ACTION", f"name the {role} by agent id", parameter="target_agent_id")
    if target_id == agent.id:
        return reject("INVALID_TARGET", f"you cannot be your own {role}", target=target_id)
    other = state.agents.get(target_id)
    if other is None:
        return reject("INVALID_TARGET", f"no agent has the id {target_id}", target=target_id)
    if not other.alive:
        return reject("UNAVAILABLE_TARGET", f"{other.name} is dead", target=target_id)
    if other.in_transit or other.location_id != agent.location_id:
        return reject(
            "WRONG_LOCATION",
            f"{other.name} is not here; you can only {role_verb(role)} agents at your location",
            target=target_id,
        )
    return None


def role_verb(role: str) -> str:
    return {"partner": "bond with", "student": "teach"}.get(role, "act on")


def structure_here(
    state: WorldState, agent: Agent, structure_id: str, kind: str = ""
) -> tuple[Structure | None, Rejection | None]:
    if not structure_id:
        return None, reject("INVALID_ACTION", "name the structure by id", parameter="structure_id")
    structure = state.structures.get(structure_id)
    if structure is None:
        return None, reject(
            "INVALID_TARGET", f"no structure has the id {structure_id}", structure=structure_id
        )
    if structure.location_id != agent.location_id:
        return None, reject(
            "WRONG_LOCATION",
            f"that {structure.kind.lower()} is at {state.locations[structure.location_id].name}, "
            "not here",
            structure=structure_id,
        )
    if kind and structure.kind != kind:
        return None, reject(
            "INVALID_TARGET",
            f"that structure is a {structure.kind.lower()}, not a {kind.lower()}",
            structure=structure_id,
        )
    return structure, None


def toll_due(state: WorldState, agent: Agent, toll: Mapping[str, int], owner_id: str) -> bool:
    """A toll is owed by everyone but its owner, and only to a living owner."""
    if not toll or not owner_id or owner_id == agent.id:
        return False
    owner = state.agents.get(owner_id)
    return owner is not None and owner.alive


def toll_problem(
    state: WorldState, agent: Agent, tolls: list[tuple[Mapping[str, int], str, str]]
) -> Rejection | None:
    """Can the agent pay every toll owed here? Each toll is (amounts, owner id, what it is for)."""
    owed: dict[str, int] = {}
    what = []
    for toll, owner_id, purpose in tolls:
        if toll_due(state, agent, toll, owner_id):
            for resource, quantity in toll.items():
                owed[resource] = owed.get(resource, 0) + quantity
            owner = state.agents[owner_id]
            what.append(f"{purpose} ({describe_items(dict(toll))} to {owner.name})")
    if not owed:
        return None
    problem = need_items(agent, owed, "the toll of " + " and ".join(what))
    if problem is None:
        return None
    return reject(problem.reason, problem.message, **problem.details, toll=describe_items(owed))


def pay_toll(
    phase: Phase, agent: Agent, toll: Mapping[str, int], owner_id: str, purpose: str
) -> dict[str, int]:
    """Move a toll from the agent to the owner through the ledger (nothing when none is due)."""
    state = phase.state
    if not toll_due(state, agent, toll, owner_id):
        return {}
    owner = state.agents[owner_id]
    paid = dict(sorted(toll.items()))
    for resource, quantity in paid.items():
        phase.book.transfer(agent, owner, resource, quantity, f"toll: {purpose}")
    notify(owner, f"{agent.name} paid you {describe_items(paid)} toll for {purpose}")
    phase.emit(
        "ITEMS_GIVEN",
        agent.id,
        agent.location_id,
        "trade",
        {"offerer_id": agent.id, "accepter_id": owner.id, "given": amounts(paid), "reason": "toll"},
    )
    return paid
