"""Society metrics on hand-made histories: each expected value follows from the definitions."""

from __future__ import annotations

import math

import pytest

from emergence.analysis.society import (
    ACTION_TYPE_COUNT,
    ChosenAction,
    SocietyHistory,
    chosen_action,
    society_metrics,
    total_variation,
)
from emergence.v1 import action_pb2, common_pb2, event_pb2, run_pb2

E, A, C = event_pb2, action_pb2, common_pb2
ADA, BO, CY, DI = "agent-ada", "agent-bo", "agent-cy", "agent-di"


def event(tick: int, kind: int, agent_id: str = "", place: str = "", **details: object) -> E.Event:
    return E.Event(tick=tick, type=kind, agent_id=agent_id, location_id=place, **details)  # type: ignore[arg-type]


def succeeded(tick: int, agent_id: str, action_type: int, outcome: str = "", place: str = "p"):  # type: ignore[no-untyped-def]
    details = E.ActionDetails(action_type=action_type, outcome=outcome)
    return event(tick, E.EVENT_TYPE_ACTION_SUCCEEDED, agent_id, place, action=details)


def gathered(tick: int, agent_id: str, resource: int) -> list[E.Event]:
    return [
        succeeded(tick, agent_id, A.ACTION_TYPE_GATHER),
        event(
            tick,
            E.EVENT_TYPE_RESOURCE_GATHERED,
            agent_id,
            "p",
            resource=E.ResourceDetails(resource=resource, quantity=1),
        ),
    ]


def history(events: list[E.Event], **fields: object) -> SocietyHistory:
    fields.setdefault("decisions", [])
    fields.setdefault("population", [1])
    fields.setdefault("last_tick", 0)
    return SocietyHistory(events=events, **fields)  # type: ignore[arg-type]


def metrics(events: list[E.Event], **fields: object) -> dict[str, float]:
    return society_metrics(history(events, **fields))


def test_total_variation_is_half_the_l1_distance() -> None:
    assert total_variation({"a": 1.0}, {"a": 1.0}) == 0.0
    assert total_variation({"a": 1.0}, {"b": 1.0}) == 1.0
    assert total_variation({"a": 0.5, "b": 0.5}, {"a": 1.0}) == pytest.approx(0.5)


def test_specialization_is_the_mean_distance_from_the_pooled_mix() -> None:
    # Ada and Cy gather water 20 times each, Bo wood: the pooled mix is 2/3 water, 1/3 wood.
    events = []
    for tick in range(20):
        for agent_id, resource in (
            (ADA, C.RESOURCE_WATER),
            (BO, C.RESOURCE_WOOD),
            (CY, C.RESOURCE_WATER),
        ):
            events += gathered(tick, agent_id, resource)
    figures = metrics(events)
    # Ada and Cy are 1/3 away from it, Bo 2/3: the mean is 4/9.
    assert figures["specialization"] == pytest.approx(4 / 9)
    assert figures["occupations"] == 2
    assert figures["occupations_shared"] == 1  # gathering water; gathering wood has one agent
    assert figures["productive_activities"] == 2


def test_an_agent_with_few_productive_acts_has_no_occupation_and_eating_is_not_work() -> None:
    events = [succeeded(tick, ADA, A.ACTION_TYPE_BUILD) for tick in range(19)]
    events += [succeeded(tick, BO, A.ACTION_TYPE_EAT) for tick in range(50)]
    figures = metrics(events)
    assert figures["occupations"] == 0 and figures["specialization"] == 0
    assert figures["productive_activities"] == 1


def test_everyone_doing_the_same_is_no_specialization() -> None:
    events = [succeeded(t, who, A.ACTION_TYPE_COOK) for t in range(25) for who in (ADA, BO)]
    figures = metrics(events)
    assert figures["specialization"] == 0
    assert figures["occupations_shared"] == 1


def presence(bo_leaves_at: int) -> list[E.Event]:
    return [
        event(0, E.EVENT_TYPE_AGENT_BORN, ADA, "p"),
        event(0, E.EVENT_TYPE_AGENT_BORN, BO, "p"),
        event(bo_leaves_at, E.EVENT_TYPE_AGENT_DEPARTED, BO, "p"),
        event(
            bo_leaves_at + 2,
            E.EVENT_TYPE_AGENT_ARRIVED,
            BO,
            "q",
            movement=E.MovementDetails(from_location_id="p", to_location_id="q"),
        ),
        event(700, E.EVENT_TYPE_AGENT_DIED, ADA, "p"),
    ]


def test_agent_ticks_by_place_and_a_lasting_settlement() -> None:
    figures = metrics(presence(600), last_tick=999)
    # Ada at p for ticks 0–699 (700), Bo at p 0–599 (600), in transit 2 ticks, at q 602–999 (398).
    assert figures["busiest_place_share"] == pytest.approx(1300 / 1698)
    assert figures["places_visited"] == 2
    assert figures["lasting_settlements"] == 1  # p held two agents for 600 ticks; q one
    assert figures["agents_never_moved_share"] == 0.5  # Ada stayed


@pytest.mark.parametrize(("leaves_at", "settled"), [(499, 0), (500, 1)])
def test_a_settlement_needs_two_agents_for_500_ticks(leaves_at: int, settled: int) -> None:
    assert metrics(presence(leaves_at), last_tick=999)["lasting_settlements"] == settled


def built(tick: int, sid: str, kind: int, place: str) -> E.Event:
    details = E.StructureDetails(structure_id=sid, kind=kind)
    return event(tick, E.EVENT_TYPE_STRUCTURE_BUILT, ADA, place, structure=details)


def test_durable_structures_standing_and_used() -> None:
    events = [
        built(1, "hut", C.STRUCTURE_KIND_BASIC_HUT, "p"),
        built(1, "fire", C.STRUCTURE_KIND_CAMPFIRE, "p"),
        built(2, "lean", C.STRUCTURE_KIND_LEAN_TO, "q"),
        built(2, "pit", C.STRUCTURE_KIND_STORAGE_PIT, "p"),
        built(3, "plot", C.STRUCTURE_KIND_FARM_PLOT, "p"),
        event(
            5,
            E.EVENT_TYPE_STRUCTURE_DESTROYED,
            "",
            "q",
            structure=E.StructureDetails(structure_id="lean"),
        ),
        # Rests in a shelter at p use the hut (twice); a plain rest uses nothing.
        succeeded(6, BO, A.ACTION_TYPE_REST, "rested in a shelter (+12 energy)", "p"),
        succeeded(7, BO, A.ACTION_TYPE_REST, "rested in a shelter (+12 energy)", "p"),
        succeeded(8, CY, A.ACTION_TYPE_REST, "rested (+8 energy)", "p"),
        # A deposit that succeeded uses the pit; one refused (no success event) does not.
        succeeded(9, BO, A.ACTION_TYPE_DEPOSIT),
        # Planting uses the plot.
        event(10, E.EVENT_TYPE_CROP_PLANTED, CY, "p", resource=E.ResourceDetails(source_id="plot")),
    ]
    decisions = [
        ChosenAction(BO, 9, A.ACTION_TYPE_DEPOSIT, frozenset({"pit"})),
        ChosenAction(CY, 9, A.ACTION_TYPE_DEPOSIT, frozenset({"pit"})),
    ]
    figures = metrics(events, decisions=decisions)
    assert figures["structures_built"] == 5 and figures["campfires_built"] == 1
    assert figures["durable_built"] == 4
    assert figures["durable_standing_end"] == 3  # hut, pit, plot; the lean-to fell
    assert figures["durable_standing_used"] == 3
    assert figures["durable_uses"] == 4  # hut 2, pit 1, plot 1


def traded(
    tick: int,
    offerer: str,
    accepter: str,
    place: str,
    given: dict[int, int],
    received: dict[int, int],
) -> E.Event:
    details = E.TradeDetails(
        offerer_id=offerer,
        accepter_id=accepter,
        given=[C.ResourceAmount(resource=r, quantity=q) for r, q in given.items()],
        received=[C.ResourceAmount(resource=r, quantity=q) for r, q in received.items()],
    )
    return event(tick, E.EVENT_TYPE_TRADE_COMPLETED, accepter, place, trade=details)


def test_net_and_gross_trade_flow_and_trades_in_free_goods() -> None:
    events = [
        traded(1, ADA, BO, "river", {C.RESOURCE_WATER: 3}, {C.RESOURCE_FISH: 1}),
        traded(2, BO, ADA, "hill", {C.RESOURCE_WATER: 2}, {C.RESOURCE_FISH: 1}),
        traded(3, CY, ADA, "hill", {C.RESOURCE_WOOD: 4}, {}),
    ]
    free = {
        "river": frozenset({"RESOURCE_WATER", "RESOURCE_FISH"}),
        "hill": frozenset({"RESOURCE_STONE"}),
    }
    figures = metrics(events, free_goods=free)
    # Water Ada↔Bo: 3 and 2 (net 1 of 5); fish 1 and 1 (net 0 of 2); wood Cy→Ada 4 (net 4 of 4).
    assert figures["trade_net_share"] == pytest.approx(5 / 11)
    assert figures["trade_units_gross"] == 11
    assert figures["trades"] == 3
    assert figures["trades_in_free_goods_share"] == pytest.approx(1 / 3)


def test_no_trade_has_no_shares() -> None:
    figures = metrics([])
    assert math.isnan(figures["trade_net_share"])
    assert math.isnan(figures["trades_in_free_goods_share"])


def learned(tick: int, method: int, *, first: bool = False, success: bool = True) -> E.Event:
    details = E.KnowledgeDetails(
        knowledge="fire", method=method, first_in_run=first, success=success
    )
    return event(tick, E.EVENT_TYPE_KNOWLEDGE_DISCOVERED, ADA, knowledge=details)


def test_discoveries_by_method_and_the_social_share() -> None:
    events = [
        learned(0, E.DISCOVERY_METHOD_SEED),
        learned(5, E.DISCOVERY_METHOD_ACCIDENT, first=True),
        learned(9, E.DISCOVERY_METHOD_ACCIDENT),
        learned(12, E.DISCOVERY_METHOD_TEACHING),
        learned(13, E.DISCOVERY_METHOD_READING),
        learned(14, E.DISCOVERY_METHOD_OBSERVATION),
        learned(40, E.DISCOVERY_METHOD_EXPERIMENTATION, first=True),
        learned(41, E.DISCOVERY_METHOD_INHERITANCE),
        learned(42, E.DISCOVERY_METHOD_TEACHING, success=False),
    ]
    figures = metrics(events)
    assert figures["knowledge_acquired"] == 6
    assert figures["social_spread_share"] == pytest.approx(0.5)
    assert figures["discoveries.accident"] == 2 and figures["discoveries.teaching"] == 1
    assert figures["last_first_discovery_tick"] == 40
    assert figures["first_discoveries"] == 2
    assert figures["first_discoveries_by_accident_share"] == pytest.approx(0.5)


def test_contested_laws_and_group_sizes() -> None:
    def law(tick: int, parties: list[str], no_votes: int) -> E.Event:
        details = E.DiplomacyDetails(party_ids=parties, passed=True, no_votes=no_votes)
        return event(tick, E.EVENT_TYPE_LAW_ENACTED, ADA, diplomacy=details)

    def group(tick: int, kind: int, group_id: str, members: list[str]) -> E.Event:
        return event(tick, kind, ADA, group=E.GroupDetails(group_id=group_id, member_ids=members))

    events = [
        law(1, [ADA, BO, CY], 1),
        law(2, [ADA], 0),
        event(3, E.EVENT_TYPE_PROPOSAL_DECIDED, ADA, diplomacy=E.DiplomacyDetails(no_votes=2)),
        group(1, E.EVENT_TYPE_GROUP_FORMED, "g1", [ADA, BO]),
        group(2, E.EVENT_TYPE_GROUP_JOINED, "g1", [ADA, BO, CY]),
        group(3, E.EVENT_TYPE_GROUP_LEFT, "g1", [ADA, CY]),
        group(4, E.EVENT_TYPE_GROUP_FORMED, "g2", [DI]),
    ]
    figures = metrics(events)
    assert figures["laws_enacted"] == 2
    assert figures["laws_contested"] == 1
    assert figures["laws_one_party"] == 1
    assert figures["proposals_with_no_vote"] == 1
    assert (figures["groups"], figures["group_size_max"], figures["group_size_mean"]) == (2, 3, 2)


def test_population_and_deaths_by_cause_and_season() -> None:
    def died(tick: int, cause: int, season: int) -> E.Event:
        return event(
            tick,
            E.EVENT_TYPE_AGENT_DIED,
            ADA,
            agent_died=E.AgentDiedDetails(cause=cause),
            context=E.WorldContext(season=season),
        )

    events = [
        died(5, C.DEATH_CAUSE_STARVATION, C.SEASON_WINTER),
        died(6, C.DEATH_CAUSE_STARVATION, C.SEASON_WINTER),
        died(7, C.DEATH_CAUSE_OLD_AGE, C.SEASON_SUMMER),
    ]
    figures = metrics(events, population=[20, 12, 9, 14])
    assert (figures["population_min"], figures["population_end"]) == (9, 14)
    assert figures["deaths"] == 3
    assert figures["deaths.cause.starvation"] == 2 and figures["deaths.cause.old_age"] == 1
    assert figures["deaths.season.winter"] == 2 and figures["deaths.season.summer"] == 1


def test_action_types_chosen_and_succeeded() -> None:
    decisions = [
        ChosenAction(ADA, 1, A.ACTION_TYPE_GATHER),
        ChosenAction(ADA, 2, A.ACTION_TYPE_STEAL),
        ChosenAction(BO, 2, A.ACTION_TYPE_GATHER),
        ChosenAction(BO, 3, 0),
    ]
    events = [succeeded(1, ADA, A.ACTION_TYPE_GATHER)]
    figures = metrics(events, decisions=decisions, timed_out=1)
    assert (figures["action_types_chosen"], figures["action_types_succeeded"]) == (2, 1)
    assert figures["decisions_timed_out_share"] == 0.25
    assert ACTION_TYPE_COUNT == 46


def test_a_stored_decision_gives_its_type_and_the_ids_it_names() -> None:
    deposit = run_pb2.Decision(
        agent_id=ADA,
        tick=4,
        action=A.Action(
            deposit=A.DepositParams(
                structure_id="pit-1", item=C.ResourceAmount(resource=C.RESOURCE_FISH, quantity=2)
            )
        ),
    )
    chosen = chosen_action(deposit)
    assert (chosen.agent_id, chosen.tick, chosen.action_type) == (ADA, 4, A.ACTION_TYPE_DEPOSIT)
    assert chosen.named_ids == {"pit-1"}
    speech = run_pb2.Decision(action=A.Action(communicate=A.CommunicateParams(text="x" * 5000)))
    assert chosen_action(speech).named_ids == frozenset()
    assert chosen_action(run_pb2.Decision()).action_type == 0


def test_a_labelled_section_gets_a_short_name_cut_at_a_word() -> None:
    from bench.society_metrics import section_slug

    assert section_slug("Baseline: the heuristic mind before the general-mind work") == (
        "baseline-the-heuristic-mind-before-the"
    )
    assert section_slug("") == "" and section_slug("\x00 --- \x00") == ""
    assert len(section_slug("x" * 10_000)) == 40


def test_specialists_and_the_information_an_agent_gives_about_its_work() -> None:
    # Ada only gathers water, Bo only wood: each activity is done by agents who do nothing else.
    events = []
    for tick in range(20):
        events += gathered(tick, ADA, C.RESOURCE_WATER) + gathered(tick, BO, C.RESOURCE_WOOD)
    figures = metrics(events)
    assert figures["specialization"] == pytest.approx(0.5)
    assert figures["specialists_share"] == 1.0
    assert figures["specialization_information"] == pytest.approx(1.0)
    # Everyone with the same half-and-half mix: no information, no specialist.
    same = []
    for tick in range(20):
        for agent_id in (ADA, BO):
            resource = C.RESOURCE_WATER if tick % 2 else C.RESOURCE_WOOD
            same += gathered(tick, agent_id, resource)
    figures = metrics(same)
    assert figures["specialists_share"] == 0 and figures["specialization_information"] == 0


def test_information_between_none_and_full_and_specialists_by_distance() -> None:
    # Ada: 30 water; Bo: 15 water, 15 wood. Pooled 3/4 water: Ada is 1/4 away, Bo 1/4 away.
    events = [e for tick in range(30) for e in gathered(tick, ADA, C.RESOURCE_WATER)]
    events += [
        e
        for tick in range(30)
        for e in gathered(tick, BO, C.RESOURCE_WATER if tick < 15 else C.RESOURCE_WOOD)
    ]
    figures = metrics(events)
    assert figures["specialists_share"] == 0
    overall = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    within = 0.5 * 0 + 0.5 * math.log(2)
    assert figures["specialization_information"] == pytest.approx((overall - within) / overall)


def test_alive_share_at_tick_300_and_the_largest_die_off_in_50_ticks() -> None:
    # 100 alive; 10 die at tick 100, 25 more over ticks 200-224 (of 90: 27.8 %), back to 80.
    population = [100] * 100 + [90] * 100 + [90 - (t - 199) for t in range(200, 225)]
    population += [65] * 76 + [80] * 100
    figures = metrics([], population=population)
    assert len(population) == 401
    assert figures["population_start"] == 100
    assert figures["alive_share_at_300"] == pytest.approx(0.65)
    assert figures["die_off_50"] == pytest.approx(25 / 90)
    assert figures["die_off_50_tick"] == 174  # the first window that holds the whole fall
    assert (figures["population_min"], figures["population_end"]) == (65, 80)
    assert math.isnan(metrics([], population=[5] * 300)["alive_share_at_300"])


def test_a_die_off_during_an_injected_disaster_does_not_count() -> None:
    population = [100] * 75 + [50] * 45 + [45] * 100
    plague = event(
        70,
        E.EVENT_TYPE_WORLD_EVENT,
        world_event=E.WorldEventDetails(kind="plague", parameters={"ticks": "20"}),
    )
    # Without the plague: 100 -> 45 from tick 74 to tick 120.
    assert metrics([], population=population)["die_off_50"] == pytest.approx(0.55)
    figures = metrics([plague], population=population)
    # Every window reaching ticks 70-90 is left out; the fall of 5 at tick 120 remains.
    assert figures["die_off_50"] == pytest.approx(5 / 50)
    boom = event(
        70, E.EVENT_TYPE_WORLD_EVENT, world_event=E.WorldEventDetails(kind="resource_boom")
    )
    assert metrics([boom], population=population)["die_off_50"] == pytest.approx(0.55)


def test_population_ticks_say_which_tick_a_count_is_of() -> None:
    figures = metrics([], population=[40, 30, 20], population_ticks=[1000, 1300, 1340])
    assert figures["alive_share_at_300"] == pytest.approx(30 / 40)
    # Only tick 1340 is within 50 ticks of another: 30 -> 20.
    assert figures["die_off_50"] == pytest.approx(1 / 3)


def test_targets_on_the_mean_and_in_a_share_of_seeds() -> None:
    from bench.society_metrics import CROWD, LARGE, LONG, SHORT, judged, target_text

    assert judged("population_min", [12, 9, 11, 10, 15], 11.4, LONG) == "met (4 of 5 seeds)"
    assert judged("population_min", [12, 9, 9, 10, 15], 11.0, LONG).startswith("**not met** (3")
    assert judged("population_min", [12], 12, SHORT) == "not judged (other run size)"
    assert judged("die_off_50", [0.1], 0.1, CROWD) == "met (1 of 1 seeds)"
    assert judged("die_off_50", [0.25], 0.25, CROWD).startswith("**not met**")
    assert judged("busiest_place_share", [0.4, 0.7], 0.55, SHORT) == "**not met**"
    assert judged("ticks", [1.0], 1.0, SHORT) == ""
    assert target_text("alive_share_at_300", CROWD) == "≥ 0.7 (each, in every seed; 100 × 2 000)"
    assert target_text("trade_net_share") == "≥ 0.6 (mean; 20 × 2 000)"
    assert target_text("population_end", LONG) == "≥ 15 (each, in ≥ 80 % of seeds; 20 × 5 000)"
    assert LARGE.text() == "1 000 × 300, generated map"
