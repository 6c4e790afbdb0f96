"""Social construct detection reads the history and the world; formation and dissolution are events."""

from __future__ import annotations

import dataclasses

from emergence.v1 import event_pb2
from engine.constructs import RELIGION_SILENCE_TICKS, ConstructDetector
from engine.core.events import DomainEvent, amounts
from engine.core.state import Group
from tests.sim.world_builder import agent_list, make_world

FORMED = event_pb2.EVENT_TYPE_SOCIAL_CONSTRUCT_FORMED
DISBANDED = event_pb2.EVENT_TYPE_SOCIAL_CONSTRUCT_DISBANDED


def prayer(agent_id: str, construct: str = "the River") -> DomainEvent:
    return DomainEvent("PRAYER", agent_id, "riverbank", "prayer", {"construct": construct})


def trade(offerer: str, accepter: str, give: str, want: str) -> DomainEvent:
    details = {
        "offerer_id": offerer,
        "accepter_id": accepter,
        "given": amounts({give: 1}),
        "received": amounts({want: 1}),
    }
    return DomainEvent("TRADE_COMPLETED", accepter, "riverbank", "trade", details)


def kinds(events: list[event_pb2.Event]) -> list[tuple[int, str]]:
    return [(event.type, event.construct.name) for event in events]


def test_a_faith_forms_when_three_pray_to_the_same_object_and_fades_in_silence() -> None:
    state = make_world(agents=4)
    a, b, c, d = agent_list(state)
    detector = ConstructDetector()
    assert detector.observe(state, 1, [prayer(a.id), prayer(b.id), prayer(c.id, "the Sun")]) == []
    formed = detector.observe(state, 2, [prayer(d.id)])
    assert kinds(formed) == [(FORMED, "the faith of the River")]
    details = formed[0].construct
    assert details.category == event_pb2.CONSTRUCT_CATEGORY_RELIGION
    assert details.founder_id == a.id and sorted(details.adherent_ids) == sorted([a.id, b.id, d.id])
    assert detector.observe(state, 100, []) == []  # still remembered
    faded = detector.observe(state, 2 + RELIGION_SILENCE_TICKS, [])
    assert kinds(faded) == [(DISBANDED, "the faith of the River")]
    (construct,) = [c for c in detector.constructs() if c.name == "the faith of the River"]
    assert construct.formed_tick == 2 and construct.disbanded_tick == 2 + RELIGION_SILENCE_TICKS


def test_a_family_stands_while_a_child_lives_and_a_government_once_a_group_has_laws() -> None:
    state = make_world(agents=4)
    a, b, c, d = agent_list(state)
    c.parent_ids = (a.id, b.id)
    detector = ConstructDetector()
    formed = detector.observe(state, 1, [])
    assert [e.construct.category for e in formed] == [event_pb2.CONSTRUCT_CATEGORY_FAMILY]
    assert sorted(formed[0].construct.adherent_ids) == sorted([a.id, b.id, c.id])

    state.groups["g1"] = Group("g1", "Elders", d.id, 0, member_ids={d.id, a.id})
    assert detector.observe(state, 2, []) == []  # a group without laws or a leader
    state.groups["g1"].rules.append("share water")
    governed = detector.observe(state, 3, [])
    assert kinds(governed) == [(FORMED, "the rule of Elders")]
    assert governed[0].construct.properties["laws"] == "1"

    c.alive = False
    names = " and ".join(sorted((a.name, b.name)))
    assert kinds(detector.observe(state, 4, [])) == [(DISBANDED, f"the family of {names}")]


def test_money_is_a_good_that_circulates_against_many_others() -> None:
    state = make_world(agents=6)
    ids = [agent.id for agent in agent_list(state)]
    detector = ConstructDetector()
    goods = ("WOOD", "STONE", "BERRY", "CLAY")
    # Fish is taken in one trade and passed on in the next, by everyone, against four goods.
    count = len(ids)
    ring = [
        trade(ids[i % count], ids[(i + 1) % count], "FISH", goods[i % len(goods)])
        for i in range(12)
    ]
    formed = detector.observe(state, 1, ring)
    assert kinds(formed) == [(FORMED, "fish as money")]
    assert formed[0].construct.category == event_pb2.CONSTRUCT_CATEGORY_ECONOMIC
    # Plain barter between two agents is no money, however often it happens.
    barter = ConstructDetector()
    pairs = [trade(ids[0], ids[1], "WATER", goods[i % 4]) for i in range(30)]
    assert barter.observe(state, 1, pairs) == []


def test_the_detector_never_changes_the_world() -> None:
    state = make_world(agents=4)
    a, b, c, _ = agent_list(state)
    c.parent_ids = (a.id, b.id)
    before = dataclasses.replace(a), dataclasses.replace(b), dataclasses.replace(c)
    ConstructDetector().observe(state, 1, [prayer(a.id), prayer(b.id), prayer(c.id)])
    assert (a, b, c) == before
