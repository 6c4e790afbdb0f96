"""Read views the Observer builds from a rebuilt world and stored events: graph, memories, paging."""

from __future__ import annotations

import re

from google.protobuf import json_format

from emergence.mesh.errors import InvalidArgument
from emergence.mesh.validation import quoted
from emergence.v1 import agent_pb2, event_pb2, observer_service_pb2
from engine.core.state import WorldState

DEFAULT_PAGE_SIZE = 500
MAX_PAGE_SIZE = 10_000
CONFLICT_EVENTS: list[int] = [
    event_pb2.EVENT_TYPE_THEFT_OCCURRED,
    event_pb2.EVENT_TYPE_THEFT_FAILED,
    event_pb2.EVENT_TYPE_COMBAT_INITIATED,
]
_EVENT_TOKEN = re.compile(r"^e(\d{1,19})\.(\d{1,10})$")
_DECISION_TOKEN = re.compile(r"^d(\d{1,19})\.(.{1,200})$", re.DOTALL)
_AGENT_TOKEN = re.compile(r"^a(.{1,200})$", re.DOTALL)
MEMORY_KINDS = {
    event_pb2.EVENT_TYPE_MESSAGE_SENT: agent_pb2.MEMORY_KIND_COMMUNICATION,
    event_pb2.EVENT_TYPE_KNOWLEDGE_DISCOVERED: agent_pb2.MEMORY_KIND_DISCOVERY,
    event_pb2.EVENT_TYPE_LOCATION_DISCOVERED: agent_pb2.MEMORY_KIND_DISCOVERY,
    event_pb2.EVENT_TYPE_RELATIONSHIP_CHANGED: agent_pb2.MEMORY_KIND_SOCIAL,
    event_pb2.EVENT_TYPE_GROUP_FORMED: agent_pb2.MEMORY_KIND_SOCIAL,
    event_pb2.EVENT_TYPE_TRADE_COMPLETED: agent_pb2.MEMORY_KIND_SOCIAL,
}


def page_size(requested: int) -> int:
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _bad_token(token: str) -> InvalidArgument:
    return InvalidArgument(
        f"page_token {quoted(token, 60)} is not one this server issued",
        hint="pass next_page_token from the previous page, or nothing for the first page",
    )


def event_token(event: event_pb2.Event) -> str:
    return f"e{event.tick}.{event.sequence}"


def parse_event_token(token: str) -> tuple[int, int] | None:
    if not token:
        return None
    match = _EVENT_TOKEN.match(token)
    if match is None:
        raise _bad_token(token)
    return int(match.group(1)), int(match.group(2))


def decision_token(tick: int, agent_id: str) -> str:
    return f"d{tick}.{agent_id}"


def parse_decision_token(token: str) -> tuple[int, str] | None:
    if not token:
        return None
    match = _DECISION_TOKEN.match(token)
    if match is None:
        raise _bad_token(token)
    return int(match.group(1)), match.group(2)


def agent_token(agent_id: str) -> str:
    return f"a{agent_id}"


def parse_agent_token(token: str) -> str:
    if not token:
        return ""
    match = _AGENT_TOKEN.match(token)
    if match is None:
        raise _bad_token(token)
    return match.group(1)


def social_graph(
    state: WorldState,
    conflicts: list[event_pb2.Event],
    min_abs_trust: float,
) -> observer_service_pb2.GetSocialGraphResponse:
    """Agents as nodes; trust, partner bonds, parenthood and conflicts (thefts, fights) as edges."""
    response = observer_service_pb2.GetSocialGraphResponse()
    for agent_id, agent in sorted(state.agents.items()):
        response.nodes.add(
            agent_id=agent_id, name=agent.name, alive=agent.alive, group_ids=sorted(agent.group_ids)
        )
        for other_id, trust in sorted(agent.relationships.items()):
            if abs(trust) >= min_abs_trust:
                response.edges.add(
                    from_agent_id=agent_id, to_agent_id=other_id, trust=trust, kind="trust"
                )
        if agent.partner_id and agent_id < agent.partner_id:
            response.edges.add(
                from_agent_id=agent_id,
                to_agent_id=agent.partner_id,
                trust=agent.relationships.get(agent.partner_id, 0.0),
                kind="bond",
            )
        for parent_id in agent.parent_ids:
            response.edges.add(from_agent_id=parent_id, to_agent_id=agent_id, kind="parent")
    seen: set[tuple[str, str]] = set()
    for event in conflicts:
        pair = (event.agent_id, conflict_target(event))
        if pair[1] and pair not in seen:
            seen.add(pair)
            trust = (
                state.agents[pair[0]].relationships.get(pair[1], 0.0)
                if pair[0] in state.agents
                else 0.0
            )
            response.edges.add(
                from_agent_id=pair[0], to_agent_id=pair[1], trust=trust, kind="conflict"
            )
    for _group_id, group in sorted(state.groups.items()):
        message = response.groups.add(
            id=group.id,
            name=group.name,
            founder_id=group.founder_id,
            member_ids=sorted(group.member_ids),
            rules=list(group.rules),
            formed_tick=group.formed_tick,
        )
        message.roles.update(group.roles)
    return response


def conflict_target(event: event_pb2.Event) -> str:
    if event.HasField("theft"):
        return event.theft.victim_id
    if event.HasField("combat"):
        return (
            event.combat.defender_id
            if event.combat.attacker_id == event.agent_id
            else event.combat.attacker_id
        )
    return ""


def memory_entry(event: event_pb2.Event) -> agent_pb2.MemoryEntry:
    """An event the agent took part in, told as a memory: what happened, where, with whom."""
    kind = MEMORY_KINDS.get(event.type, agent_pb2.MEMORY_KIND_ACTION)
    name = event_pb2.EventType.Name(event.type).removeprefix("EVENT_TYPE_").lower()
    summary = name.replace("_", " ")
    detail = event.WhichOneof("details")
    others: list[str] = []
    if detail:
        fields = json_format.MessageToDict(getattr(event, detail))
        others = [str(v) for k, v in sorted(fields.items()) if k.endswith("Id") and v]
        summary += ": " + ", ".join(f"{k}={v}" for k, v in sorted(fields.items()))
    return agent_pb2.MemoryEntry(
        tick=event.tick,
        kind=kind,
        summary=summary[:300],
        entity_ids=[other for other in others if other != event.agent_id],
        location_id=event.location_id,
    )
