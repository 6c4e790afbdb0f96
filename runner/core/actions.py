"""Build action_pb2.Action messages from plain names and values (resources as "WATER", etc.)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import FieldDescriptor

from emergence.v1 import action_pb2, run_pb2
from runner.core.vocabulary import (
    ACTION_NAMES,
    PROPOSAL_KINDS,
    RESOURCE_NAMES,
    RESOURCES,
    STRUCTURES,
    params_field,
)

_ENUMS: dict[str, dict[str, int]] = {
    "Resource": RESOURCES,
    "StructureKind": STRUCTURES,
    "ProposalKind": PROPOSAL_KINDS,
}


@dataclass(frozen=True, slots=True)
class DecisionOutcome:
    """What a brain decided for one agent, with the reasoning that is logged but never shown."""

    action: action_pb2.Action
    reasoning: str = ""
    goal_update: str = ""
    brain: run_pb2.BrainKind.ValueType = run_pb2.BRAIN_KIND_HEURISTIC


def make_action(agent_id: str, action_type: str, **values: Any) -> action_pb2.Action:
    """`make_action(a, "GATHER", resource="WATER")`; amounts as [("WOOD", 2)]; unknown keys fail."""
    try:
        key = (action_type, *values.items())
        params = _PARAMS_BYTES.get(key)
    except TypeError:  # a list among the values: not a key, so built field by field
        return build_action(agent_id, action_type, **values)
    # A mind builds a dozen candidate actions a decision, most of them the same few again and
    # again: the parameters are serialized once and parsed back with the agent's id, which
    # gives the message field by field building gives, about three times as fast.
    if params is None:
        params = build_action("", action_type, **values).SerializeToString()
        if len(_PARAMS_BYTES) >= _CACHED_ACTIONS:
            _PARAMS_BYTES.clear()
        _PARAMS_BYTES[key] = params
    agent = _AGENT_BYTES.get(agent_id)
    if agent is None:
        if len(_AGENT_BYTES) >= _CACHED_ACTIONS:
            _AGENT_BYTES.clear()
        agent = _AGENT_BYTES[agent_id] = action_pb2.Action(agent_id=agent_id).SerializeToString()
    # Serialized messages concatenated parse as the two merged: the agent's id and the params.
    return _ACTION_FROM_BYTES(agent + params)


_CACHED_ACTIONS = 8192
_PARAMS_BYTES: dict[tuple[Any, ...], bytes] = {}
_AGENT_BYTES: dict[str, bytes] = {}
_ACTION_FROM_BYTES = action_pb2.Action.FromString


def build_action(agent_id: str, action_type: str, **values: Any) -> action_pb2.Action:
    """make_action's result built field by field."""
    action = action_pb2.Action()
    action.agent_id = agent_id
    field_name, kinds = _params_of(action_type)
    params = getattr(action, field_name)
    params.SetInParent()
    for key, value in values.items():
        kind, table = kinds[key]
        if kind == _SCALAR:
            setattr(params, key, value)
        elif kind == _ENUM:
            setattr(params, key, table[str(value).upper()])
        elif kind == _AMOUNT:
            resource, quantity = value
            target = getattr(params, key)
            target.resource = RESOURCES[resource]
            target.quantity = int(quantity)
        elif kind == _AMOUNTS:
            amounts = getattr(params, key)
            for resource, quantity in value:
                amounts.add(resource=RESOURCES[resource], quantity=int(quantity))
        else:
            getattr(params, key).extend(value)
    return action


# How make_action fills each field of a params message (worked out once per message type: a
# decision builds several candidate actions and reading descriptors each time cost more than
# the rest of building them).
_SCALAR, _ENUM, _AMOUNT, _AMOUNTS, _REPEATED = range(5)
_PARAMS_BY_TYPE: dict[str, tuple[str, dict[str, tuple[int, dict[str, int]]]]] = {}


def _params_of(action_type: str) -> tuple[str, dict[str, tuple[int, dict[str, int]]]]:
    """The params field of this action type and how each of its fields is filled."""
    known = _PARAMS_BY_TYPE.get(action_type)
    if known is None:
        name = params_field(action_type)
        field = action_pb2.Action.DESCRIPTOR.fields_by_name[name]
        assert field.message_type is not None  # every params field of Action is a message
        kinds = {each.name: _field_kind(each) for each in field.message_type.fields}
        known = _PARAMS_BY_TYPE[action_type] = (name, kinds)
    return known


def _field_kind(field: FieldDescriptor) -> tuple[int, dict[str, int]]:
    if field.enum_type is not None and field.enum_type.name in _ENUMS:
        return _ENUM, _ENUMS[field.enum_type.name]
    if field.message_type is not None and field.message_type.name == "ResourceAmount":
        return (_AMOUNTS if _is_repeated(field) else _AMOUNT), {}
    if _is_repeated(field):
        return _REPEATED, {}
    return _SCALAR, {}


def _is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def action_type_of(action: action_pb2.Action) -> str:
    """The action type name ("GATHER") of an action message; "NO_ACTION" when empty."""
    kind = action.WhichOneof("params")
    return kind.upper() if kind else "NO_ACTION"


def describe(action: action_pb2.Action) -> str:
    """A short human-readable form: gather(WATER), trade_offer(…, give 2 WOOD, want 2 WATER)."""
    kind = action.WhichOneof("params")
    if kind is None:
        return "no_action()"
    params = getattr(action, kind)
    parts = []
    for field, value in params.ListFields():
        if field.enum_type is not None:
            prefix = _enum_prefix(field.enum_type.name)
            parts.append(field.enum_type.values_by_number[value].name.removeprefix(prefix))
        elif field.message_type is not None and field.message_type.name == "ResourceAmount":
            amounts: Iterable[Any] = value if _is_repeated(field) else [value]
            text = " ".join(f"{a.quantity} {RESOURCE_NAMES.get(a.resource, '?')}" for a in amounts)
            parts.append(f"{field.name} {text}")
        elif _is_repeated(field):
            parts.append(",".join(str(item) for item in value))
        else:
            parts.append(str(value)[:60])
    return f"{kind}({', '.join(parts)})"


@functools.cache
def _enum_prefix(enum_name: str) -> str:
    """ "StructureKind" -> "STRUCTURE_KIND_" (the prefix of its value names)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum_name).upper() + "_"


def type_value(action_type: str) -> int:
    return {name: value for value, name in ACTION_NAMES.items()}[action_type]
