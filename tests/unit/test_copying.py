"""The world copy every tick works on: equal to the world, sharing nothing a rule can change."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field

from engine.core.copying import copier_of, copy_world
from engine.core.state import (
    Alliance,
    BoardMessage,
    Deception,
    Group,
    PrivateMessage,
    Proposal,
    Structure,
    TradeOffer,
    WorldState,
)
from tests.sim.driver import run
from tests.sim.policy import survival_action
from tests.sim.world_builder import agent_list, make_world

MUTABLE = (dict, list, set)


def mutable_objects(root: object) -> dict[int, object]:
    """Every container and every mutable dataclass reachable from `root`, by id (frozen
    dataclasses are values: the copy shares them and they are not walked)."""
    found: dict[int, object] = {}
    stack = [root]
    while stack:
        value = stack.pop()
        kind = type(value)
        is_record = dataclasses.is_dataclass(kind) and not kind.__dataclass_params__.frozen  # type: ignore[attr-defined]
        if isinstance(value, MUTABLE) or is_record:
            if id(value) in found:
                continue
            found[id(value)] = value
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list | set | tuple | frozenset):
            stack.extend(value)
        elif is_record:
            stack.extend(getattr(value, f.name) for f in dataclasses.fields(kind))  # type: ignore[arg-type]
    return found


def lived_in_world() -> WorldState:
    """A world some ticks old, holding one of everything the state can hold."""
    state = make_world(agents=6, seed=3)
    run(state, 12, lambda _state, _agent, perception, rng: survival_action(perception, rng))
    first, second, *_ = agent_list(state)
    home = state.locations[first.location_id]
    first.relationships[second.id] = 0.5
    first.inbox.append(PrivateMessage("m-1", 3, second.id, second.name, "hello", (first.id,)))
    home.board.append(BoardMessage("b-1", 4, first.id, first.name, "water here", home.id))
    home.writings["fire_making"] = 5
    state.structures["s-1"] = Structure("s-1", "STORAGE_PIT", home.id, first.id, first.id, 2)
    state.structures["s-1"].storage["WOOD"] = 2
    state.structures["s-1"].access.allowed_agent_ids.add(second.id)
    home.structure_ids.append("s-1")
    state.groups["g-1"] = Group("g-1", "Reed", first.id, 1, {first.id}, {second.id})
    state.trades["t-1"] = TradeOffer("t-1", first.id, second.id, {"WOOD": 1}, {"FISH": 1}, 1, 9)
    state.proposals["p-1"] = Proposal("p-1", "LAW", first.id, (second.id,), "share", "g-1", 1, 8)
    state.alliances["a-1"] = Alliance("a-1", frozenset({first.id, second.id}), "stand", 2)
    state.deceptions.append(Deception(first.id, second.id, 2, "no fish", "fish", "FISH"))
    state.bond_requests[("MARRY", first.id, second.id)] = 20
    state.plague_cured[home.region] = {first.id}
    return state


def test_the_copy_equals_the_world_and_shares_nothing_a_rule_can_change() -> None:
    state = lived_in_world()
    copied = copy_world(state)
    assert copied == state
    assert pickle.dumps(copied.config) == pickle.dumps(state.config)
    originals, copies = mutable_objects(state), mutable_objects(copied)
    assert not originals.keys() & copies.keys()
    # As many distinct objects: whatever two places held in common, they hold in common still.
    assert len(copies) == len(originals)


def test_changing_the_copy_leaves_the_world_as_it_was() -> None:
    state = lived_in_world()
    before = pickle.dumps(state)
    copied = copy_world(state)
    agent = next(iter(copied.agents.values()))
    agent.inventory["WOOD"] = 99
    agent.knowledge.add("smelting")
    copied.structures["s-1"].access.allowed_agent_ids.clear()
    copied.groups["g-1"].member_ids.add("someone")
    copied.plague_cured.clear()
    next(iter(copied.locations.values())).nodes.clear()
    run(copied, 3, lambda _state, _agent, perception, rng: survival_action(perception, rng))
    assert pickle.dumps(state) == before


@dataclass(slots=True)
class Inner:
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Value:
    name: str


@dataclass(slots=True)
class Holder:
    """Fields of the kinds a later change could add to the state."""

    number: int = 0
    names: tuple[str, ...] = ()
    value: Value = Value("v")
    maybe: Inner | None = None
    inners: list[Inner] = field(default_factory=list)
    by_name: dict[str, Inner] = field(default_factory=dict)
    nested: dict[str, list[str]] = field(default_factory=dict)
    anything: object = None
    pairs: tuple[Inner, ...] = ()


def test_fields_a_later_change_adds_are_copied_by_their_type() -> None:
    holder = Holder(
        1, ("a",), Value("w"), Inner({"x": 1}), [Inner({"y": 2})], {"k": Inner()},
        {"n": ["1"]}, {"free": [1, {2}]}, (Inner({"z": 3}),),
    )  # fmt: skip
    copied = copier_of(Holder)(holder)
    assert copied == holder
    assert copied.value is holder.value and copied.names is holder.names
    assert not mutable_objects(holder).keys() & mutable_objects(copied).keys()


@dataclass(slots=True)
class Unreadable:
    """A field whose type is named only for type checkers."""

    inner: Later  # type: ignore[name-defined]  # noqa: F821


def test_a_class_whose_field_types_cannot_be_read_is_copied_by_what_it_holds() -> None:
    holder = Unreadable(Inner({"x": 1}))
    copied = copier_of(Unreadable)(holder)
    assert copied == holder
    assert copied.inner is not holder.inner and copied.inner.counts is not holder.inner.counts
