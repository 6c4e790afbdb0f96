"""Copying the world for the next tick: a copy that shares what no rule can change.

Every tick works on a copy of the world, so that a tick whose commit fails leaves the last
committed world as it was. A generic deep copy (pickle round trip, copy.deepcopy) rebuilds every
string, number and frozen value and copies the world's settings each tick; here each class of the
state gets a copier, made once from its fields' types, that makes new containers and new mutable
objects and shares the rest: strings, numbers, tuples, frozensets and frozen dataclasses (values,
never changed in place; the settings are one). Fields a later change adds are copied by their
declared type, so the copy stays whole without touching this module; a type it cannot read is
deep-copied.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any

from engine.core.state import WorldState

Copier = Callable[[Any], Any]

# Types whose values are never changed in place.
_IMMUTABLE: tuple[type, ...] = (int, float, str, bool, bytes, type(None), complex)
_copiers: dict[type, Copier] = {}


def copy_world(state: WorldState) -> WorldState:
    """A copy of `state` no later change to either can reach through the other."""
    copied: WorldState = copier_of(WorldState)(state)
    return copied


def copier_of(cls: type) -> Copier:
    """The copier of a mutable dataclass: a new instance, each field copied by its type."""
    found = _copiers.get(cls)
    if found is None:
        # Placed first, so a class that holds itself (a tree) finds its own copier.
        _copiers[cls] = lambda value: _copiers[cls](value)
        found = _copiers[cls] = _build_copier(cls)
    return found


def _build_copier(cls: type) -> Copier:
    try:
        hints = typing.get_type_hints(cls)
    except NameError:
        hints = {}  # a type named only for type checkers: every field copied by what it holds
    helpers: dict[str, Any] = {"new": cls.__new__, "cls": cls}
    lines = ["def copy_one(value):", "    made = new(cls)"]
    for field in dataclasses.fields(cls):
        name = field.name
        field_copier = _copier_for(hints.get(name, Any))
        if field_copier is None:
            lines.append(f"    made.{name} = value.{name}")
        else:
            helpers[f"copy_{name}"] = field_copier
            lines.append(f"    made.{name} = copy_{name}(value.{name})")
    lines.append("    return made")
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), helpers, namespace)  # code made from field names only
    made: Copier = namespace["copy_one"]
    return made


def _copier_for(annotation: Any) -> Copier | None:
    """How to copy a value of this declared type; None when it can be shared."""
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        arms = [_copier_for(arm) for arm in arguments]
        return None if all(arm is None for arm in arms) else copy_value
    if origin is tuple:
        shared = all(_copier_for(arm) is None for arm in arguments if arm is not Ellipsis)
        return None if shared else copy_value
    if origin is frozenset:
        return None
    if origin is set:
        return set.copy  # elements are hashable, so immutable
    if origin is list:
        return _list_copier(_copier_for(arguments[0]) if arguments else copy_value)
    if origin is dict:
        return _dict_copier(_copier_for(arguments[1]) if len(arguments) == 2 else copy_value)
    if origin is not None:
        return copy_value
    if isinstance(annotation, type):
        if issubclass(annotation, _IMMUTABLE) or _is_value(annotation):
            return None
        if dataclasses.is_dataclass(annotation):
            return copier_of(annotation)
    return copy_value


def _list_copier(item_copier: Copier | None) -> Copier:
    if item_copier is None:
        return list.copy
    return lambda items: [item_copier(item) for item in items]


def _dict_copier(value_copier: Copier | None) -> Copier:
    if value_copier is None:
        return dict.copy
    return lambda mapping: {key: value_copier(item) for key, item in mapping.items()}


def _is_value(cls: type) -> bool:
    """A frozen dataclass: built whole and never changed in place (results, settings)."""
    parameters = getattr(cls, "__dataclass_params__", None)
    return bool(parameters is not None and parameters.frozen)


def copy_value(value: Any) -> Any:
    """A value whose declared type says too little (`object`, a union of containers): copied by
    what it is at run time."""
    kind = type(value)
    if kind in _IMMUTABLE or kind is frozenset or _is_value(kind):
        return value
    if kind is dict:
        return {key: copy_value(item) for key, item in value.items()}
    if kind is list:
        return [copy_value(item) for item in value]
    if kind is set:
        return set(value)
    if kind is tuple:
        return tuple(copy_value(item) for item in value)
    if dataclasses.is_dataclass(kind):
        return copier_of(kind)(value)
    return copy.deepcopy(value)
