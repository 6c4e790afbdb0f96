"""Domain <-> protobuf for the engine: perceptions, events, ledger entries, results, actions, views.

Incoming actions are never trusted: unknown enums, empty oneofs, missing ids and oversized texts
become a Submission with an invalid_reason (an InvalidAction rejection), never an exception.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf.message import Message

from emergence.action_words import DESCRIPTIONS, standard_form
from emergence.v1 import (
    action_pb2,
    agent_pb2,
    common_pb2,
    event_pb2,
    ledger_pb2,
    perception_pb2,
    run_pb2,
    world_pb2,
)
from engine.adapters.convert_extra import extra_fields, fill_extra, fill_terms
from engine.adapters.wire import varint
from engine.core.actions import Action, ActionResult
from engine.core.context import carry_load, energy_cap, life_stage, skill_level
from engine.core.entries import Entry, state_digest
from engine.core.events import DomainEvent
from engine.core.perception import (
    AgentsHereSummary,
    AgentSighting,
    AvailableAction,
    Perception,
    ResourceSighting,
    RouteSighting,
    SelfView,
    StructureSighting,
)
from engine.core.resolve import Submission
from engine.core.state import SKILLS, Agent, WorldState

MAX_TEXT_CHARS = 2000  # longer texts are refused at the edge, before any rule sees them
MAX_LIST_ITEMS = 100


# ----- generic filling ---------------------------------------------------------------------------
def _enum_value(field: Any, value: object) -> int:
    """An enum number from a full name ("RESOURCE_WOOD"), a short name ("WOOD") or a number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if field.enum_type is not None else 0
    return _enum_number(field, str(value))


@functools.lru_cache(maxsize=4096)
def _enum_number(field: Any, name: str) -> int:
    enum = field.enum_type
    if enum is None:
        return 0
    if name in enum.values_by_name:
        return int(enum.values_by_name[name].number)
    prefix = enum.values[0].name.removesuffix("UNSPECIFIED")
    if prefix + name in enum.values_by_name:
        return int(enum.values_by_name[prefix + name].number)
    return 0


def fill(message: Message, values: Mapping[str, object]) -> Message:
    """Set fields of `message` from plain values: enums by name, nested messages from dicts."""
    fields = _fields_of(message.DESCRIPTOR)
    for key, value in values.items():
        field = fields.get(key)
        if field is None or value is None:
            continue
        _set(message, field, value)
    return message


# How a field is set, worked out once per field (events are filled by the thousand a tick).
_MAP, _REPEATED_MESSAGE, _REPEATED_ENUM, _REPEATED, _MESSAGE, _ENUM, _SCALAR = range(7)


@functools.cache
def _fields_of(descriptor: Any) -> dict[str, tuple[Any, int]]:
    """Each field of a message type by name, with how it is set."""
    fields = {}
    for field in descriptor.fields:
        message_type, enum_type = field.message_type, field.enum_type
        if message_type is not None and message_type.GetOptions().map_entry:
            kind = _MAP
        elif field.is_repeated:
            repeated = _REPEATED_ENUM if enum_type is not None else _REPEATED
            kind = _REPEATED_MESSAGE if message_type is not None else repeated
        elif message_type is not None:
            kind = _MESSAGE
        else:
            kind = _ENUM if enum_type is not None else _SCALAR
        fields[field.name] = (field, kind)
    return fields


def _set(message: Message, plan: tuple[Any, int], value: object) -> None:
    field, kind = plan
    name = field.name
    if kind == _SCALAR:
        setattr(message, name, value)
    elif kind == _ENUM:
        setattr(message, name, _enum_value(field, value))
    elif kind == _MESSAGE:
        fill(getattr(message, name), _as_mapping(value))
    elif kind == _MAP:
        target = getattr(message, name)
        for key, item in dict(value).items():  # type: ignore[call-overload]
            target[key] = str(item)
    elif kind == _REPEATED_MESSAGE:
        target = getattr(message, name)
        for item in value:  # type: ignore[attr-defined]
            fill(target.add(), _as_mapping(item))
    elif kind == _REPEATED_ENUM:
        getattr(message, name).extend(_enum_value(field, item) for item in value)  # type: ignore[attr-defined]
    else:
        getattr(message, name).extend(value)


def _as_mapping(value: object) -> Mapping[str, object]:
    if isinstance(value, Mapping):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and len(value) == 2:
        return {"resource": value[0], "quantity": value[1]}
    raise TypeError(f"cannot convert {type(value).__name__} to a message")


def amounts(
    items: Mapping[str, int] | tuple[tuple[str, int], ...],
) -> list[common_pb2.ResourceAmount]:
    pairs = items.items() if isinstance(items, Mapping) else items
    return [
        common_pb2.ResourceAmount(resource=resource_value(r), quantity=q)  # type: ignore[arg-type]
        for r, q in sorted(pairs)
        if q
    ]


def resource_value(name: str) -> int:
    if not name:
        return 0
    number = _RESOURCE_NUMBER.get(name)
    return number if number is not None else common_pb2.Resource.Value(f"RESOURCE_{name}")


_RESOURCE_NUMBER = {n.removeprefix("RESOURCE_"): v for n, v in common_pb2.Resource.items()}


# ----- perception ----------------------------------------------------------------------------------
# Built field by field on the hot path (every living agent, every tick): no generic filling.
def perception_to_proto(
    perception: Perception,
    last_result: action_pb2.ActionResult | None = None,
    sightings: SightingCache | None = None,
) -> perception_pb2.Perception:
    """`last_result`: the agent's last result already converted (the engine sent it to the
    runners); used when it is that very result, converted here otherwise. `sightings`: the
    tick's cache of converted agent sightings (a per-value cache is used without it)."""
    p = perception
    message = perception_pb2.Perception(
        agent_id=p.agent_id,
        tick=p.tick,
        clock=_clock(
            p.tick, p.time_of_day, p.season, p.weather, p.days_until_season_change, p.year
        ),
        self=_self_view(p.self_view),
        location_description=p.location_description,
        location_region=p.location_region,
        notifications=p.notifications,
        known_location_names=p.known_location_names,
        sleeping=p.sleeping,
        era=_ERA.get(p.era, 0),  # type: ignore[arg-type]
        observable_knowledge=p.observable_knowledge,
        agents_here=_agents_here(p.agents_here),
        structures_here=p.structures_here,
    )
    message.structures.extend(_structure_sighting(structure) for structure in p.structures)
    if p.board or p.messages or p.trade_offers or p.proposals:
        _exchanges(message, p)
    for invitation in p.group_invitations:
        message.group_invitations.add(
            group_id=invitation.group_id, group_name=invitation.group_name,
            founder_id=invitation.founder_id, founder_name=invitation.founder_name,
        )  # fmt: skip
    for bond in p.bond_requests:
        message.bond_requests.add(
            action_type=_ACTION.get(bond.action_type, 0), from_agent_id=bond.from_agent_id,
            from_name=bond.from_name, expires_tick=bond.expires_tick,
        )  # fmt: skip
    # The longest lists, mostly the same entries for everyone at a place: each entry is
    # serialized once per tick (per value without a cache) and the agent's lists are parsed in
    # one call, instead of a message built or copied per entry per agent.
    if sightings is not None:
        shared = sightings.fields_of(p)
        if p.extra is not None:
            shared += extra_fields(p.extra)
    else:
        shared = b"".join(
            [
                *map(_NO_CACHE.resource_field, p.resources), *map(_NO_CACHE.route_field, p.routes),
                *map(_NO_CACHE.agent_field, p.agents),
                *map(_NO_CACHE.available_field, p.available_actions),
            ]
        )  # fmt: skip
    if shared:
        message.MergeFromString(shared)
    for memory in p.memories:
        message.memories.add(tick=p.tick, summary=memory)
    result = p.last_result
    if result is not None:
        converted = last_result
        if converted is None or (converted.tick, converted.agent_id) != (
            result.tick,
            result.agent_id,
        ):
            converted = result_to_proto(result)
        message.last_result.CopyFrom(converted)
    if p.extra is not None:
        if sightings is not None:
            fill_terms(message, p.extra)  # the recipes and foods came with the shared fields
        else:
            fill_extra(message, p.extra)
    return message


@functools.lru_cache(maxsize=4096)
def _agents_here(summary: AgentsHereSummary) -> perception_pb2.AgentsHere:
    """Many agents at a place share the same counts: converted once each."""
    return perception_pb2.AgentsHere(
        count=summary.count, children=summary.children, adults=summary.adults,
        elders=summary.elders, known=summary.known, friends=summary.friends,
        distrusted=summary.distrusted, kin=summary.kin, group_members=summary.group_members,
        strangers=summary.strangers,
    )  # fmt: skip


@functools.lru_cache(maxsize=64)
def _clock(
    tick: int, time_of_day: str, season: str, weather: str, days_left: int, year: int
) -> world_pb2.WorldClock:
    """Every perception of a tick has the same clock: built once, copied into each."""
    return world_pb2.WorldClock(
        tick=tick, time_of_day=_TIME_OF_DAY.get(time_of_day, 0), season=_SEASON.get(season, 0),  # type: ignore[arg-type]
        weather=_WEATHER.get(weather, 0), days_until_season_change=days_left, year=year,  # type: ignore[arg-type]
    )  # fmt: skip


def _self_view(me: SelfView) -> perception_pb2.SelfView:
    personality = me.personality
    return perception_pb2.SelfView(
        agent_id=me.agent_id, name=me.name, age=me.age,
        life_stage=_LIFE_STAGE.get(me.life_stage, 0),  # type: ignore[arg-type]
        vitals=agent_pb2.Vitals(
            energy=me.energy, health=me.health, hunger=me.hunger, thirst=me.thirst, age=me.age
        ),
        location_id=me.location_id, location_name=me.location_name,
        inventory=amounts(me.inventory), carry_load=me.carry_load,
        carry_capacity=me.carry_capacity,
        goals=[
            agent_pb2.Goal(text=goal, priority=index + 1)
            for index, goal in enumerate(me.goals)
        ],
        skills=[
            agent_pb2.SkillLevel(skill=_SKILL.get(skill, 0), level=level, experience=experience)  # type: ignore[arg-type]
            for skill, level, experience in me.skills
        ],
        group_ids=me.group_ids, group_names=me.group_names, partner_id=me.partner_id,
        knowledge=me.knowledge,
        personality=_personality(tuple(personality.items())),
        sex=_SEX.get(me.sex, 0), energy_cap=me.energy_cap, in_transit=me.in_transit,  # type: ignore[arg-type]
        travel_ticks_remaining=me.travel_ticks_remaining, destination_name=me.destination_name,
        enforceable_rules=me.enforceable_rules,
    )  # fmt: skip


@functools.lru_cache(maxsize=4096)
def _personality(traits: tuple[tuple[str, float], ...]) -> common_pb2.Personality:
    """An agent's personality hardly changes: converted once per value."""
    known = dict(traits)
    return common_pb2.Personality(**{t: known[t] for t in _PERSONALITY if t in known})


def _exchanges(message: perception_pb2.Perception, p: Perception) -> None:
    """Board, private messages, trade offers and proposals (a few agents have some)."""
    for board in p.board:
        message.board.add(
            id=board.id, tick=board.tick, author_id=board.author_id,
            author_name=board.author_name, text=board.text, location_id=board.location_id,
            region_wide=board.region_wide, world_wide=board.world_wide,
        )  # fmt: skip
    for private in p.messages:
        message.messages.add(
            id=private.id, tick=private.tick, from_agent_id=private.from_agent_id,
            from_name=private.from_name, text=private.text, also_to_ids=private.also_to_ids,
        )  # fmt: skip
    for offer in p.trade_offers:
        message.trade_offers.add(
            trade_id=offer.trade_id, from_agent_id=offer.from_agent_id,
            from_name=offer.from_name, give=_amount_list(offer.give),
            want=_amount_list(offer.want), expires_tick=offer.expires_tick,
            can_accept=offer.can_accept,
        )  # fmt: skip
    for proposal in p.proposals:
        message.proposals.add(
            proposal_id=proposal.proposal_id, kind=_PROPOSAL.get(proposal.kind, 0),
            proposer_id=proposal.proposer_id, proposer_name=proposal.proposer_name,
            terms=proposal.terms, closes_tick=proposal.closes_tick,
        )  # fmt: skip


def _amount_list(pairs: tuple[tuple[str, int], ...]) -> list[common_pb2.ResourceAmount]:
    """Resource amounts in the order given (the generic filling kept order and zeros too)."""
    return [
        common_pb2.ResourceAmount(resource=_RESOURCE.get(r, 0), quantity=q)  # type: ignore[arg-type]
        for r, q in pairs
    ]


@functools.lru_cache(maxsize=16_384)
def _structure_sighting(structure: StructureSighting) -> perception_pb2.StructureSighting:
    """Everyone at a place sees its structures alike (but for usable_by_me): converted once."""
    return perception_pb2.StructureSighting(
        structure_id=structure.structure_id, kind=_STRUCTURE.get(structure.kind, 0),  # type: ignore[arg-type]
        owner=structure.owner, owner_id=structure.owner_id,
        durability_percent=structure.durability_percent,
        occupant_names=structure.occupant_names, usable_by_me=structure.usable_by_me,
        crop_ripe=structure.crop_ripe, crop_ripe_in_ticks=structure.crop_ripe_in_ticks,
    )  # fmt: skip


def _short_names(enum: Any, prefix: str) -> dict[str, int]:
    """Enum numbers by name without prefix ("WOOD" for RESOURCE_WOOD); full names work too."""
    names = {name.removeprefix(prefix): number for name, number in enum.items()}
    return {**names, **dict(enum.items())}


_RESOURCE = _short_names(common_pb2.Resource, "RESOURCE_")
_ERA = _short_names(common_pb2.Era, "ERA_")
_TIME_OF_DAY = _short_names(common_pb2.TimeOfDay, "TIME_OF_DAY_")
_SEASON = _short_names(common_pb2.Season, "SEASON_")
_WEATHER = _short_names(common_pb2.Weather, "WEATHER_")
_SKILL = _short_names(common_pb2.Skill, "SKILL_")
_STRUCTURE = _short_names(common_pb2.StructureKind, "STRUCTURE_KIND_")
_PROPOSAL = _short_names(action_pb2.ProposalKind, "PROPOSAL_KIND_")
_PERSONALITY = tuple(common_pb2.Personality.DESCRIPTOR.fields_by_name)


_LIFE_STAGE = {n.removeprefix("LIFE_STAGE_"): v for n, v in common_pb2.LifeStage.items()}
_SEX = {n.removeprefix("SEX_"): v for n, v in common_pb2.Sex.items()}
_PATH = {n.removeprefix("PATH_TYPE_"): v for n, v in common_pb2.PathType.items()}
_ACTION = {n.removeprefix("ACTION_TYPE_"): v for n, v in action_pb2.ActionType.items()}


def _field_tag(name: str) -> bytes:
    """The wire tag of a length-delimited Perception field."""
    return varint(perception_pb2.Perception.DESCRIPTOR.fields_by_name[name].number << 3 | 2)


_AGENTS_TAG, _AVAILABLE_TAG = _field_tag("agents"), _field_tag("available_actions")
_RESOURCES_TAG, _ROUTES_TAG = _field_tag("resources"), _field_tag("routes")


def _as_field(tag: bytes, message: Message) -> bytes:
    """`message` serialized as one element of a repeated Perception field."""
    payload = message.SerializeToString()
    return b"".join((tag, varint(len(payload)), payload))


class SightingCache:
    """One tick's agent sightings and available actions converted, by object: everyone at a
    place shares the sightings of the strangers there and most of their available actions (the
    core builds each non-targeted entry once per tick), so each converts once without hashing
    its fields again and again. The cache holds the objects it saw, so an id cannot be reused
    while it lives: one per tick."""

    __slots__ = ("_fields",)

    def __init__(self) -> None:
        self._fields: dict[int, tuple[object, bytes]] = {}

    def _field(self, item: Any, convert: Callable[[Any], bytes]) -> bytes:
        entry = self._fields.get(id(item))
        if entry is None:
            entry = self._fields[id(item)] = (item, convert(item))
        return entry[1]

    def agent_field(self, sighting: AgentSighting) -> bytes:
        return self._field(sighting, _agent_field)

    def fields_of(self, perception: Perception) -> bytes:
        """The perception's resources, routes, agents and available actions, serialized."""
        fields = self._fields
        parts = []
        lists: tuple[tuple[tuple[Any, ...], Callable[[Any], bytes]], ...] = (
            (perception.resources, _resource_field), (perception.routes, _route_field),
            (perception.agents, _agent_field), (perception.available_actions, _available_field),
        )  # fmt: skip
        for items, convert in lists:
            for item in items:
                entry = fields.get(id(item))
                if entry is None:
                    entry = fields[id(item)] = (item, convert(item))
                parts.append(entry[1])
        return b"".join(parts)

    def available_field(self, available: AvailableAction) -> bytes:
        return self._field(available, _available_field)

    def resource_field(self, resource: ResourceSighting) -> bytes:
        return self._field(resource, _resource_field)

    def route_field(self, route: RouteSighting) -> bytes:
        return self._field(route, _route_field)


class _ByValue:
    """Without a tick's cache: the same entries, looked up by value."""

    @staticmethod
    def agent_field(sighting: AgentSighting) -> bytes:
        return _agent_field(sighting)

    @staticmethod
    def resource_field(resource: ResourceSighting) -> bytes:
        return _resource_field(resource)

    @staticmethod
    def route_field(route: RouteSighting) -> bytes:
        return _route_field(route)

    @staticmethod
    def available_field(available: AvailableAction) -> bytes:
        return _available_by_value(
            available.action_type, available.form, available.description,
            available.energy_cost, tuple(available.options.items()),
        )  # fmt: skip


_NO_CACHE = _ByValue()


@functools.lru_cache(maxsize=65_536)
def _agent_field(other: AgentSighting) -> bytes:
    return _as_field(_AGENTS_TAG, _agent_sighting(other))


@functools.lru_cache(maxsize=16_384)
def _resource_field(resource: ResourceSighting) -> bytes:
    return _as_field(
        _RESOURCES_TAG,
        perception_pb2.ResourceSighting(
            resource=_RESOURCE.get(resource.resource, 0), amount_word=resource.amount_word,  # type: ignore[arg-type]
            on_ground=resource.on_ground, ground_quantity=resource.ground_quantity,
        ),
    )  # fmt: skip


@functools.lru_cache(maxsize=16_384)
def _route_field(route: RouteSighting) -> bytes:
    return _as_field(_ROUTES_TAG, _route_sighting(route))


def _available_field(available: AvailableAction) -> bytes:
    return _NO_CACHE.available_field(available)


@functools.lru_cache(maxsize=4096)
def _available_by_value(
    action_type: str,
    form: str,
    description: str,
    energy_cost: float,
    options: tuple[tuple[str, str], ...],
) -> bytes:
    """Crowd entries are built per agent but mostly equal: converted once per value."""
    entry = AvailableAction(action_type, form, description, energy_cost, dict(options))
    return _as_field(_AVAILABLE_TAG, _available(entry))


@functools.lru_cache(maxsize=65_536)
def _agent_sighting(other: AgentSighting) -> perception_pb2.AgentSighting:
    """Hot path: a crowd shares stranger sightings, so each converts once and is copied after."""
    return perception_pb2.AgentSighting(
        agent_id=other.agent_id, name=other.name, relationship_word=other.relationship_word,
        trust=other.trust, last_activity=other.last_activity,
        life_stage=_LIFE_STAGE.get(other.life_stage, 0), sex=_SEX.get(other.sex, 0),  # type: ignore[arg-type]
        is_partner=other.is_partner, is_kin=other.is_kin, group_ids=other.group_ids,
    )  # fmt: skip


def _route_sighting(route: RouteSighting) -> perception_pb2.RouteSighting:
    return perception_pb2.RouteSighting(
        route_id=route.route_id, destination_id=route.destination_id,
        destination_name=route.destination_name, travel_ticks=route.travel_ticks,
        path_type=_PATH.get(route.path_type, 0), blocked_by_weather=route.blocked_by_weather,  # type: ignore[arg-type]
        blocked_by_access=route.blocked_by_access, destination_region=route.destination_region,
        explored=route.explored,
    )  # fmt: skip


def _available(available: AvailableAction) -> perception_pb2.AvailableAction:
    action_type, form, description = available.action_type, available.form, available.description
    # Standard descriptions and forms are in every reader's table (action_words): sent only
    # when they differ from what the reader would rebuild.
    if description == DESCRIPTIONS.get(action_type):
        description = ""
    if form == standard_form(action_type, available.options):
        form = ""
    return perception_pb2.AvailableAction(
        action_type=_ACTION.get(action_type, 0), form=form, description=description,  # type: ignore[arg-type]
        energy_cost=available.energy_cost, options=available.options,
    )  # fmt: skip


# ----- results, actions ---------------------------------------------------------------------------
def result_to_proto(result: ActionResult | object) -> action_pb2.ActionResult:
    assert isinstance(result, ActionResult)
    message = action_pb2.ActionResult(
        agent_id=result.agent_id,
        tick=result.tick,
        action_type=_number(_ACTION, action_pb2.ActionType, "ACTION_TYPE_", result.action_type),
        success=result.success,
        outcome=result.outcome,
        energy_spent=result.energy_spent,
        gained=amounts(dict(result.gained)),
        lost=amounts(dict(result.lost)),
    )
    if result.rejection is not None:
        message.rejection.reason = _number(
            _REJECTION, action_pb2.RejectionReason, "REJECTION_REASON_", result.rejection.reason
        )
        message.rejection.message = result.rejection.message
        message.rejection.details.update(dict(result.rejection.details))
    if result.action is not None:
        message.action.CopyFrom(action_to_proto(result.agent_id, result.action))
    return message


_REJECTION = {n.removeprefix("REJECTION_REASON_"): v for n, v in action_pb2.RejectionReason.items()}


def _number(numbers: Mapping[str, int], enum: Any, prefix: str, name: str) -> Any:
    """An enum number by short name from a table; the enum's own error for a name not in it."""
    number = numbers.get(name)
    return number if number is not None else enum.Value(prefix + name)


def _items(values: Any) -> tuple[tuple[str, int], ...]:
    return tuple(
        (common_pb2.Resource.Name(v.resource).removeprefix("RESOURCE_"), int(v.quantity))
        for v in values
    )


class _Refused(ValueError):
    pass


def _resource(value: int, parameter: str, *, required: bool = True) -> str:
    if value == 0:
        if required:
            raise _Refused(f"{parameter} is missing: name a resource such as RESOURCE_WATER")
        return ""
    if value not in common_pb2.Resource.values():
        raise _Refused(f"{parameter} has the unknown resource number {value}")
    return common_pb2.Resource.Name(value).removeprefix("RESOURCE_")  # type: ignore[arg-type]


def _text(value: str, parameter: str) -> str:
    if len(value) > MAX_TEXT_CHARS:
        raise _Refused(f"{parameter} has {len(value)} characters; the limit is {MAX_TEXT_CHARS}")
    return value


def _ids(values: Any, parameter: str) -> tuple[str, ...]:
    ids = tuple(str(v) for v in values)
    if len(ids) > MAX_LIST_ITEMS:
        raise _Refused(f"{parameter} lists {len(ids)} ids; the limit is {MAX_LIST_ITEMS}")
    return ids


def _amounts_checked(values: Any, parameter: str) -> tuple[tuple[str, int], ...]:
    if len(values) > MAX_LIST_ITEMS:
        raise _Refused(f"{parameter} lists too many items")
    pairs = []
    for value in values:
        resource = _resource(value.resource, parameter)
        if value.quantity <= 0:
            raise _Refused(f"{parameter}: quantity of {resource.lower()} must be positive")
        pairs.append((resource, int(value.quantity)))
    return tuple(pairs)


def action_from_proto(message: action_pb2.Action) -> Action:
    """Domain action from the wire; raises _Refused with a readable reason on garbage."""
    kind = message.WhichOneof("params")
    if kind is None:
        raise _Refused("the action names no action type (the params oneof is empty)")
    params = getattr(message, kind)
    action_type = kind.upper()
    fields: dict[str, Any] = {"type": action_type}
    for field in params.DESCRIPTOR.fields:
        value = getattr(params, field.name)
        name = field.name
        if name in ("resource", "food", "item", "seed") and field.enum_type is not None:
            fields["resource"] = _resource(value, name, required=action_type != "FARM_PLANT")
        elif name == "structure" and field.enum_type is not None:
            if value not in common_pb2.StructureKind.values() or value == 0:
                raise _Refused(
                    "structure is missing or unknown: name one such as STRUCTURE_KIND_CAMPFIRE"
                )
            fields["structure"] = common_pb2.StructureKind.Name(value).removeprefix(
                "STRUCTURE_KIND_"
            )
        elif name == "kind":
            if value not in action_pb2.ProposalKind.values() or value == 0:
                raise _Refused("proposal kind is missing or unknown")
            fields["kind"] = action_pb2.ProposalKind.Name(value).removeprefix("PROPOSAL_KIND_")
        elif name == "item" and field.message_type is not None:
            if params.HasField("item"):
                fields["items"] = _amounts_checked([value], name)
        elif name in ("give", "items", "fine"):
            fields["items"] = _amounts_checked(value, name)
        elif name == "want":
            fields["want"] = _amounts_checked(value, name)
        elif name in ("member_ids", "agent_ids"):
            fields["agent_ids"] = _ids(value, name)
        elif name in ("text", "terms", "rule"):
            fields["text"] = _text(value, name)
        elif name == "name" or name == "construct":
            fields["name"] = _text(value, name)
        elif name == "knowledge":
            fields["knowledge"] = _text(value, name)[:100]
        elif name in ("yes", "exile"):
            fields["flag"] = bool(value)
        elif name == "route_id":
            # A move may name its route; improving a route targets it (the handler reads target_id).
            fields["route_id" if action_type == "MOVE" else "target_id"] = _text(value, name)
        elif (name == "group_id" and action_type == "PROPOSE") or name.endswith("_id"):
            fields["target_id"] = _text(value, name)
        elif name == "reason":
            continue
    if action_type == "STRUCTURE":
        raise _Refused("unknown action")
    return Action(**fields)


def submission_from_proto(agent_id: str, message: action_pb2.Action, order: int) -> Submission:
    try:
        action = action_from_proto(message)
    except _Refused as refusal:
        return Submission(agent_id=agent_id, action=None, order=order, invalid_reason=str(refusal))
    return Submission(agent_id=agent_id, action=action, order=order)


PARAM_FIELD = {
    "target_id": ("target_agent_id", "structure_id", "route_id", "trade_id", "group_id",
                  "student_id", "partner_id", "proposal_id", "target_id", "destination_id"),
}  # fmt: skip


def action_to_proto(agent_id: str, action: Action) -> action_pb2.Action:
    message = action_pb2.Action(agent_id=agent_id)
    kind = action.type.lower()
    if kind not in action_pb2.Action.DESCRIPTOR.fields_by_name:
        return message
    params = getattr(message, kind)
    params.SetInParent()
    for field in params.DESCRIPTOR.fields:
        name = field.name
        is_move_route = name == "route_id" and kind == "move"
        if name in PARAM_FIELD["target_id"] and action.target_id and not is_move_route:
            setattr(params, name, action.target_id)
        if name == "route_id" and action.route_id:
            params.route_id = action.route_id
        if (
            field.enum_type is not None
            and name in ("resource", "food", "item", "seed")
            and action.resource
        ):
            setattr(params, name, resource_value(action.resource))
        if name == "structure" and action.structure:
            params.structure = common_pb2.StructureKind.Value(f"STRUCTURE_KIND_{action.structure}")
        if name == "kind" and action.kind:
            params.kind = action_pb2.ProposalKind.Value(f"PROPOSAL_KIND_{action.kind}")
        if name in ("text", "terms", "rule") and action.text:
            setattr(params, name, action.text)
        if name in ("name", "construct") and action.name:
            setattr(params, name, action.name)
        if name == "knowledge":
            params.knowledge = action.knowledge
        if name in ("yes", "exile"):
            setattr(params, name, action.flag)
        if name in ("member_ids", "agent_ids"):
            getattr(params, name).extend(action.agent_ids)
        if name in ("give", "items", "fine"):
            getattr(params, name).extend(amounts(action.items))
        if name == "want":
            params.want.extend(amounts(action.want))
        if name == "item" and field.message_type is not None and action.items:
            resource, quantity = action.items[0]
            params.item.CopyFrom(amounts({resource: quantity})[0])
    return message


# ----- events, entries, context -------------------------------------------------------------------
def world_context(state: WorldState) -> event_pb2.WorldContext:
    context = event_pb2.WorldContext()
    context.CopyFrom(_context_of(state))
    return context


def _context_of(state: WorldState) -> event_pb2.WorldContext:
    """The shared context message of this moment of the world (read-only: copy it to change)."""
    return _context(state.era, state.season, state.weather, state.population, state.time_of_day)


@functools.lru_cache(maxsize=256)
def _context(
    era: str, season: str, weather: str, population: int, time_of_day: str
) -> event_pb2.WorldContext:
    """Every event of a tick carries the same context: built once."""
    return event_pb2.WorldContext(
        era=_ERA[era], season=_SEASON[season], weather=_WEATHER[weather],  # type: ignore[arg-type]
        population=population, time_of_day=_TIME_OF_DAY[time_of_day],  # type: ignore[arg-type]
    )  # fmt: skip


def agent_snapshot(agent: Agent, tick: int) -> agent_pb2.AgentSnapshot:
    snapshot = agent_pb2.AgentSnapshot()
    snapshot.CopyFrom(_snapshot_of(agent, tick))
    return snapshot


def _snapshot_of(agent: Agent, tick: int) -> agent_pb2.AgentSnapshot:
    """The agent's shared snapshot message now (read-only): an agent's events of one tick (often
    several) carry the same one, so it is built once per state of the agent."""
    inventory = tuple(sorted(agent.inventory.items())) if agent.inventory else ()
    return _snapshot(
        agent.id, agent.energy, agent.health, agent.hunger, agent.thirst,
        max(0, agent.age(tick)), agent.location_id, inventory,
    )  # fmt: skip


@functools.lru_cache(maxsize=4096)
def _snapshot(
    agent_id: str, energy: float, health: float, hunger: float, thirst: float, age: int,
    location_id: str, inventory: tuple[tuple[str, int], ...],
) -> agent_pb2.AgentSnapshot:  # fmt: skip
    return agent_pb2.AgentSnapshot(
        agent_id=agent_id,
        vitals=agent_pb2.Vitals(
            energy=energy, health=health, hunger=hunger, thirst=thirst, age=age
        ),
        location_id=location_id,
        inventory=amounts(inventory),
    )


_EVENT_TYPE = _short_names(event_pb2.EventType, "EVENT_TYPE_")


def event_to_proto(event: DomainEvent, state: WorldState, tick: int) -> event_pb2.Event:
    message = event_pb2.Event(
        tick=tick,
        type=_EVENT_TYPE[event.type],  # type: ignore[arg-type]
        agent_id=event.agent_id,
        location_id=event.location_id,
    )
    message.context.CopyFrom(_context_of(state))
    agent = state.agents.get(event.agent_id)
    if agent is not None:
        message.agent_state.CopyFrom(_snapshot_of(agent, tick))
    if event.detail_kind:
        target = getattr(message, event.detail_kind)
        target.SetInParent()
        fill(target, event.details)
    return message


def entry_to_proto(entry: Entry, tick: int) -> ledger_pb2.LedgerEntry:
    return ledger_pb2.LedgerEntry(
        tick=tick,
        entry_type=ledger_pb2.EntryType.Value(f"ENTRY_TYPE_{entry.entry_type}"),
        from_account=ledger_pb2.AccountRef(
            entity_type=ledger_pb2.EntityType.Value(f"ENTITY_TYPE_{entry.from_type}"),
            entity_id=entry.from_id,
        ),
        to_account=ledger_pb2.AccountRef(
            entity_type=ledger_pb2.EntityType.Value(f"ENTITY_TYPE_{entry.to_type}"),
            entity_id=entry.to_id,
        ),
        resource=resource_value(entry.resource),  # type: ignore[arg-type]
        quantity=entry.quantity,
        memo=entry.memo,
        correlation_id=entry.correlation_id,
    )


def engine_digest(state: WorldState) -> str:
    """The balance digest over every holding (see engine.core.entries.balance_digest)."""
    return state_digest(state)


# ----- observer views -----------------------------------------------------------------------------
def agent_to_proto(agent: Agent, state: WorldState) -> agent_pb2.Agent:
    message = agent_pb2.Agent(
        id=agent.id, name=agent.name, generation=agent.generation,
        parent_ids=list(agent.parent_ids), born_tick=agent.born_tick, lifespan=agent.lifespan,
        sex=common_pb2.Sex.Value(f"SEX_{agent.sex}"), location_id=agent.location_id,
        route_id=agent.route_id, destination_id=agent.destination_id,
        travel_ticks_remaining=agent.travel_remaining, inventory=amounts(agent.inventory),
        knowledge=sorted(agent.knowledge), group_ids=sorted(agent.group_ids),
        reputation=agent.reputation, alive=agent.alive, died_tick=agent.died_tick,
        partner_id=agent.partner_id, known_location_ids=sorted(agent.known_location_ids),
        life_stage=common_pb2.LifeStage.Value(f"LIFE_STAGE_{life_stage(state, agent)}"),
    )  # fmt: skip
    fill(message.personality, agent.personality)
    message.vitals.CopyFrom(agent_snapshot(agent, state.tick).vitals)
    if agent.death_cause:
        message.death_cause = common_pb2.DeathCause.Value(f"DEATH_CAUSE_{agent.death_cause}")
    for skill in SKILLS:
        if agent.skills.get(skill):
            message.skills.add(
                skill=common_pb2.Skill.Value(f"SKILL_{skill}"),
                level=skill_level(state, agent, skill), experience=agent.skills[skill],
            )  # fmt: skip
    for other_id, trust in sorted(agent.relationships.items()):
        message.relationships.add(other_agent_id=other_id, trust=trust)
    for index, goal in enumerate(agent.goals):
        message.goals.add(text=goal, priority=index + 1)
    _ = (carry_load, energy_cap)
    return message


def world_view(state: WorldState, run_id: str = "") -> world_pb2.WorldView:
    view = world_pb2.WorldView(run_id=run_id, population=state.population,
                               internet_unlocked=state.internet_unlocked,
                               era=common_pb2.Era.Value(f"ERA_{state.era}"))  # fmt: skip
    fill(
        view.clock,
        {"tick": state.tick, "time_of_day": f"TIME_OF_DAY_{state.time_of_day}",
         "season": f"SEASON_{state.season}", "weather": f"WEATHER_{state.weather}",
         "days_until_season_change": state.days_until_season_change(), "year": state.year},
    )  # fmt: skip
    for _location_id, location in sorted(state.locations.items()):
        message = view.locations.add(
            id=location.id, name=location.name, region=location.region, kind=location.kind,
            description=location.description, capacity=location.capacity,
            structure_ids=sorted(location.structure_ids), hidden=location.hidden,
            farmable=location.farmable, rest_multiplier=location.rest_multiplier,
            danger=location.danger, reveals_adjacent_regions=location.reveals_adjacent_regions,
            agent_ids=sorted(location.agent_ids), owner_id=location.owner_id,
            ground=amounts(location.ground),
        )  # fmt: skip
        for resource, node in sorted(location.nodes.items()):
            message.nodes.add(
                resource=resource_value(resource), available=node.available,
                regen_per_tick=node.regen_per_tick, maximum=node.maximum,
            )  # fmt: skip
    for _route_id, route in sorted(state.routes.items()):
        view.routes.add(
            id=route.id, from_location_id=route.from_location_id,
            to_location_id=route.to_location_id,
            path_type=common_pb2.PathType.Value(f"PATH_TYPE_{route.path_type}"),
            travel_ticks=route.travel_ticks, durability=route.durability,
            decay_per_tick=route.decay_per_tick, bidirectional=route.bidirectional,
            builder_id=route.builder_id, built_tick=route.built_tick, hidden=route.hidden,
        )  # fmt: skip
    for _structure_id, structure in sorted(state.structures.items()):
        view.structures.add(
            id=structure.id, kind=common_pb2.StructureKind.Value(f"STRUCTURE_KIND_{structure.kind}"),
            location_id=structure.location_id, owner_id=structure.owner_id,
            durability=structure.durability, occupant_ids=sorted(structure.occupant_ids),
            built_tick=structure.built_tick, builder_id=structure.builder_id,
            materials=amounts(structure.materials), storage=amounts(structure.storage),
            crop_ripe_tick=structure.crop_ripe_tick, group_id=structure.group_id,
        )  # fmt: skip
    for _group_id, group in sorted(state.groups.items()):
        group_message = view.groups.add(
            id=group.id, name=group.name, founder_id=group.founder_id,
            member_ids=sorted(group.member_ids), rules=list(group.rules),
            formed_tick=group.formed_tick,
        )  # fmt: skip
        group_message.roles.update(group.roles)
    return view


def world_event_from_proto(spec: run_pb2.WorldEventSpec) -> tuple[str, dict[str, str]]:
    """An injected event as (kind, parameters) for engine.core.world_events.apply_world_event."""
    kind = spec.WhichOneof("kind")
    if kind is None:
        return "", {}
    params = getattr(spec, kind)
    parameters: dict[str, str] = {}
    for field in params.DESCRIPTOR.fields:
        value = getattr(params, field.name)
        if field.enum_type is not None:
            value = field.enum_type.values_by_number[value].name if value else ""
        parameters[field.name] = str(value)
    return kind, parameters
