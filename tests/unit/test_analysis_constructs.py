"""Constructs detected from hand-made histories: each expected construct follows from the
definitions in emergence/analysis/constructs.py."""

from __future__ import annotations

from emergence.analysis.constructs import (
    HOUSEHOLD_TICKS,
    all_constructs,
    construct_counts,
    detected,
)
from emergence.v1 import common_pb2, event_pb2

E, C = event_pb2, common_pb2
ADA, BO, CY, DI, EVE = "agent-ada", "agent-bo", "agent-cy", "agent-di", "agent-eve"


def event(tick: int, kind: int, agent_id: str = "", place: str = "", **details: object) -> E.Event:
    return E.Event(tick=tick, type=kind, agent_id=agent_id, location_id=place, **details)  # type: ignore[arg-type]


def prayer(tick: int, agent_id: str, name: str = "the Spirit", place: str = "grove") -> E.Event:
    return event(tick, E.EVENT_TYPE_PRAYER, agent_id, place, prayer=E.PrayerDetails(construct=name))


def kinds(events: list[E.Event], last_tick: int = 10_000) -> dict[str, int]:
    found: dict[str, int] = {}
    for construct in detected(events, last_tick):
        found[construct.kind] = found.get(construct.kind, 0) + 1
    return found


def test_a_ritual_is_prayer_at_one_place_on_three_days_by_two_agents() -> None:
    # Days 0, 1 and 2 (ticks 0, 5, 10), two agents: formed at tick 10.
    events = [prayer(0, ADA), prayer(5, BO), prayer(10, ADA)]
    (ritual,) = detected(events, 400)
    assert (ritual.kind, ritual.formed_tick, ritual.founder_id) == ("ritual", 10, ADA)
    assert ritual.adherent_ids == [ADA, BO]
    assert ritual.properties == {"object": "the Spirit", "place": "grove", "acts": "3"}
    assert ritual.category == E.CONSTRUCT_CATEGORY_RELIGION
    assert ritual.disbanded_tick == 310  # nobody prayed there for 300 ticks
    assert detected(events, 300)[0].disbanded_tick is None  # the run ended before that
    # The same day three times, one agent, or another place: no ritual.
    assert kinds([prayer(0, ADA), prayer(1, BO), prayer(2, ADA)]) == {}
    assert kinds([prayer(0, ADA), prayer(5, ADA), prayer(10, ADA)]) == {}
    assert kinds([prayer(0, ADA), prayer(5, BO), prayer(10, ADA, place="river")]) == {}


def test_an_enforced_law_and_the_compliance_of_the_group() -> None:
    group = E.GroupDetails(group_id="g1", name="Elders", member_ids=[ADA, BO, CY, DI])
    events = [
        event(3, E.EVENT_TYPE_GROUP_FORMED, ADA, group=group),
        event(
            40,
            E.EVENT_TYPE_SANCTION_APPLIED,
            ADA,
            sanction=E.SanctionDetails(target_agent_id=BO, rule="no theft", group_id="g1"),
        ),
    ]
    (law,) = detected(events, 100)
    assert (law.kind, law.formed_tick, law.founder_id) == ("enforced law", 40, ADA)
    assert law.properties["compliance"] == "0.75" and law.properties["sanctions"] == "1"


def test_a_marriage_lasts_until_a_divorce_or_a_death() -> None:
    def bond(tick: int, kind: int, who: str, partner: str) -> E.Event:
        return event(tick, kind, who, bond=E.BondDetails(partner_id=partner, kind="marriage"))

    events = [
        bond(10, E.EVENT_TYPE_BOND_FORMED, ADA, BO),
        bond(50, E.EVENT_TYPE_BOND_BROKEN, BO, ADA),
        bond(60, E.EVENT_TYPE_BOND_FORMED, CY, DI),
        event(90, E.EVENT_TYPE_AGENT_DIED, DI),
        event(
            70,
            E.EVENT_TYPE_BOND_FORMED,
            ADA,
            bond=E.BondDetails(partner_id=CY, kind="reproduction", child_id="k"),
        ),
    ]
    events.sort(key=lambda e: e.tick)
    found = [c for c in detected(events, 100) if c.kind == "marriage"]
    assert [(c.adherent_ids, c.formed_tick, c.disbanded_tick) for c in found] == [
        ([ADA, BO], 10, 50),
        ([CY, DI], 60, 90),
    ]


def arrive(tick: int, agent_id: str, place: str) -> E.Event:
    return event(
        tick, E.EVENT_TYPE_AGENT_ARRIVED, agent_id, place,
        movement=E.MovementDetails(to_location_id=place),
    )  # fmt: skip


def test_kin_sharing_a_place_with_a_shelter_make_a_household() -> None:
    hut = E.StructureDetails(structure_id="hut-1", kind=C.STRUCTURE_KIND_BASIC_HUT)
    child = E.AgentBornDetails(parent_ids=[ADA, BO], origin="birth")
    events = [
        event(0, E.EVENT_TYPE_AGENT_BORN, ADA, "camp"),
        event(0, E.EVENT_TYPE_AGENT_BORN, BO, "camp"),
        event(0, E.EVENT_TYPE_AGENT_BORN, EVE, "camp"),  # no kin of theirs
        event(20, E.EVENT_TYPE_STRUCTURE_BUILT, ADA, "camp", structure=hut),
        event(30, E.EVENT_TYPE_AGENT_BORN, CY, "camp", agent_born=child),
        event(
            35,
            E.EVENT_TYPE_BOND_FORMED,
            ADA,
            bond=E.BondDetails(partner_id=BO, kind="marriage"),
        ),
    ]
    households = [c for c in detected(events, 200) if c.kind == "household"]
    assert len(households) == 1
    (home,) = households
    # Ada and Bo are married from tick 35 on, but kin is kin: they shared the hut from tick 20;
    # their child, born at 30, from 30 on.
    assert home.adherent_ids == [ADA, BO, CY]
    assert home.formed_tick == 20 + HOUSEHOLD_TICKS
    assert home.properties == {"place": "camp"}
    # Without a shelter there is no household.
    assert "household" not in kinds([e for e in events if e.type != E.EVENT_TYPE_STRUCTURE_BUILT])


def trade(
    tick: int, offerer: str, accepter: str, given: tuple[int, int], got: tuple[int, int]
) -> E.Event:
    return event(
        tick,
        E.EVENT_TYPE_TRADE_COMPLETED,
        offerer,
        trade=E.TradeDetails(
            offerer_id=offerer,
            accepter_id=accepter,
            given=[C.ResourceAmount(resource=given[0], quantity=given[1])],
            received=[C.ResourceAmount(resource=got[0], quantity=got[1])],
        ),
    )


def test_a_standing_price_is_one_ratio_in_many_trades_by_several_agents() -> None:
    fish, wood = C.RESOURCE_FISH, C.RESOURCE_WOOD
    pairs = [(ADA, BO), (BO, CY), (CY, ADA), (ADA, CY), (BO, ADA)]
    # Two wood for a fish, whichever side offers.
    events = [trade(10 * i, a, b, (fish, 1), (wood, 2)) for i, (a, b) in enumerate(pairs[:3])]
    events += [trade(40, ADA, CY, (wood, 4), (fish, 2)), trade(45, BO, ADA, (fish, 1), (wood, 2))]
    events.append(trade(46, DI, EVE, (fish, 1), (wood, 9)))  # another price: not counted
    found = [c for c in detected(events, 100) if c.kind == "standing price"]
    assert len(found) == 1
    (price,) = found
    assert price.formed_tick == 45 and price.properties["price"] == "2"
    assert (price.properties["trades_at_price"], price.properties["trades"]) == ("5", "6")
    assert kinds(events[:4]) == {}  # four trades are not yet a standing price


def test_tribute_is_several_members_giving_to_one_who_gives_nothing_back() -> None:
    group = E.GroupDetails(group_id="g1", member_ids=[ADA, BO, CY, DI])

    def gift(tick: int, giver: str, taker: str) -> E.Event:
        return event(
            tick, E.EVENT_TYPE_ITEMS_GIVEN, giver,
            trade=E.TradeDetails(offerer_id=giver, accepter_id=taker),
        )  # fmt: skip

    events = [event(0, E.EVENT_TYPE_GROUP_FORMED, ADA, group=group)]
    events += [gift(t, giver, ADA) for t, giver in ((5, BO), (6, CY), (7, DI), (8, BO), (9, CY))]
    assert "tribute" not in kinds(events)  # Di gave once
    events.append(gift(12, DI, ADA))
    (tribute,) = [c for c in detected(events, 100) if c.kind == "tribute"]
    assert (tribute.founder_id, tribute.formed_tick) == (ADA, 12)
    assert tribute.adherent_ids == [ADA, BO, CY, DI]
    events.append(gift(13, ADA, BO))  # a gift back to Bo: only Cy and Di remain tributaries
    assert "tribute" not in kinds(events)


def freeform(tick: int, agent_id: str, text: str, mapped_to: str = "") -> E.Event:
    return event(
        tick, E.EVENT_TYPE_FREEFORM_ACT, agent_id, "camp",
        freeform=E.FreeformDetails(text=text, mapped_to=mapped_to),
    )  # fmt: skip


def test_a_custom_is_one_cultural_act_repeated_and_a_tradition_is_one_handed_down() -> None:
    dance = [
        freeform(t, who, text)
        for t, who, text in (
            (1, ADA, "Dance around the fire"),
            (2, BO, "dance  around the FIRE"),
            (3, CY, "dance around the fire"),
            (4, ADA, "dance around the fire"),
        )
    ]
    dance.append(freeform(5, BO, "dance around the fire", mapped_to="REST"))  # a mechanic
    assert kinds(dance) == {}
    dance.append(freeform(9, CY, "dance around the fire"))
    assert kinds(dance) == {"custom": 1}
    (custom,) = detected(dance, 100)
    assert (custom.formed_tick, custom.adherent_ids) == (9, [ADA, BO, CY])
    born = event(20, E.EVENT_TYPE_AGENT_BORN, EVE, agent_born=E.AgentBornDetails(origin="birth"))
    handed_down = [*dance, born, freeform(400, EVE, "dance around the fire")]
    found = detected(handed_down, 1000)
    tradition = next(c for c in found if c.kind == "tradition")
    assert tradition.formed_tick == 400 and EVE in tradition.adherent_ids
    assert tradition.category == E.CONSTRUCT_CATEGORY_CULTURAL
    # A migrant is no new generation.
    migrant = event(
        20, E.EVENT_TYPE_AGENT_BORN, EVE, agent_born=E.AgentBornDetails(origin="migration")
    )
    assert "tradition" not in kinds([*dance, migrant, freeform(400, EVE, "dance around the fire")])


def test_stored_constructs_join_the_detected_ones_and_everything_is_counted_by_kind() -> None:
    details = E.ConstructDetails(
        construct_id="religion:the Spirit",
        name="the faith of the Spirit",
        category=E.CONSTRUCT_CATEGORY_RELIGION,
        founder_id=ADA,
        adherent_ids=[ADA, BO, CY],
    )
    events = [
        prayer(0, ADA),
        prayer(5, BO),
        prayer(10, CY),
        event(10, E.EVENT_TYPE_SOCIAL_CONSTRUCT_FORMED, ADA, construct=details),
        event(500, E.EVENT_TYPE_SOCIAL_CONSTRUCT_DISBANDED, ADA, construct=details),
    ]
    every = all_constructs(events, 1000)
    assert [(c.kind, c.formed_tick, c.disbanded_tick) for c in every] == [
        ("faith", 10, 500),
        ("ritual", 10, 310),
    ]
    faith = every[0].to_proto()
    assert faith.properties["kind"] == "faith" and faith.disbanded_tick == 500
    assert faith.history == ["formed at tick 10 (recorded by the engine)", "disbanded at tick 500"]
    assert construct_counts(every) == {
        "constructs": 2,
        "constructs.faith": 1,
        "constructs.ritual": 1,
    }
    assert construct_counts([]) == {"constructs": 0}
    # Deterministic: the same events give the same constructs.
    assert [c.to_proto() for c in all_constructs(events, 1000)] == [c.to_proto() for c in every]


def test_the_run_report_lists_the_detected_constructs_beside_the_stored_ones() -> None:
    from emergence.analysis.history import RunHistory, analysed_event_types, analyze
    from emergence.v1 import run_pb2

    summaries = [run_pb2.TickSummary(tick=tick, alive=2) for tick in range(0, 20)]
    history = RunHistory(
        run=run_pb2.Run(id="run-1"),
        summaries=summaries,
        events=[prayer(0, ADA), prayer(5, BO), prayer(10, ADA)],
        decisions=[],
        agents_at_end=[],
    )
    (ritual,) = analyze(history).constructs
    assert (ritual.category, ritual.formed_tick, ritual.adherents) == ("religion", 10, 2)
    assert ritual.disbanded_tick is None  # the run ended at tick 19, before it lapsed
    assert E.EVENT_TYPE_PRAYER in analysed_event_types()
