"""Proto conversion: perceptions, events, entries and results convert; garbage actions never raise."""

from __future__ import annotations

import pytest

from emergence.v1 import action_pb2, common_pb2, event_pb2, ledger_pb2, run_pb2
from engine.adapters import convert
from engine.core import tick
from engine.core.actions import Action
from engine.core.world_events import WorldEventError, apply_world_event
from tests.sim.world_builder import act, agent_list, grant, make_world, place


def test_garbage_actions_become_invalid_submissions() -> None:
    cases = {
        "empty oneof": action_pb2.Action(agent_id="a"),
        "unknown resource": action_pb2.Action(gather=action_pb2.GatherParams(resource=999)),  # type: ignore[arg-type]
        "missing resource": action_pb2.Action(gather=action_pb2.GatherParams()),
        "huge text": action_pb2.Action(broadcast=action_pb2.BroadcastParams(text="x" * 10_000)),
        "unknown structure": action_pb2.Action(build=action_pb2.BuildParams(structure=77)),  # type: ignore[arg-type]
        "negative give": action_pb2.Action(
            give=action_pb2.GiveParams(
                target_agent_id="b",
                items=[common_pb2.ResourceAmount(resource=common_pb2.RESOURCE_WOOD, quantity=-3)],
            )
        ),
    }
    for name, message in cases.items():
        submission = convert.submission_from_proto("a", message, 0)
        assert submission.action is None, name
        assert submission.invalid_reason, name
    state = make_world(agents=1)
    (agent,) = agent_list(state)
    result = tick.resolve(
        state, [convert.submission_from_proto(agent.id, cases["huge text"], 0)]
    ).results[agent.id]
    assert result.rejection is not None and result.rejection.reason == "INVALID_ACTION"
    assert "10000 characters" in result.rejection.message


def test_valid_actions_round_trip() -> None:
    actions = [
        Action("GATHER", resource="WOOD"),
        Action("MOVE", target_id="open_field"),
        Action("MOVE", route_id="route-riverbank-open_field"),
        Action("TRADE_OFFER", target_id="b", items=(("WOOD", 2),), want=(("FISH", 1),)),
        Action("BUILD", structure="BASIC_HUT"),
        Action("PROPOSE", kind="LAW", target_id="g1", text="no theft", agent_ids=("b",)),
        Action("VOTE", target_id="p1", flag=True),
        Action("DEPOSIT", target_id="s1", items=(("STONE", 3),)),
        Action("PRAY", text="rain", name="the river"),
        Action("FARM_PLANT", target_id="plot", resource="BERRY"),
        Action("TEACH", target_id="b", knowledge="agriculture"),
        Action("IMPROVE_ROUTE", target_id="route-riverbank-open_field"),
    ]
    for action in actions:
        message = convert.action_to_proto("a", action)
        back = convert.submission_from_proto("a", message, 3)
        assert back.action == action, (action, back)


def test_perception_event_entry_result_convert() -> None:
    state = make_world(agents=3)
    a, b, _ = agent_list(state)
    place(state, a, "riverbank")
    place(state, b, "riverbank")
    grant(state, a, {"WOOD": 4})
    grant(state, b, {"FISH": 1})
    act(state, a, Action("TRADE_OFFER", target_id=b.id, items=(("WOOD", 2),), want=(("FISH", 1),)))
    act(state, a, Action("COMMUNICATE", target_id=b.id, text="deal?"))
    woke = tick.wake(state)
    perception = tick.perceive(state)[b.id]
    message = convert.perception_to_proto(perception)
    assert message.self.agent_id == b.id and message.self.location_name == "Riverbank"
    assert message.trade_offers[0].give[0].resource == common_pb2.RESOURCE_WOOD
    assert message.messages[0].text == "deal?"
    assert message.clock.season == common_pb2.SEASON_SPRING
    assert any(r.amount_word == "plentiful" for r in message.resources)
    assert message.available_actions and all(x.action_type for x in message.available_actions)
    seen = {sighting.agent_id: sighting for sighting in message.agents}
    assert seen[a.id].name == a.name and seen[a.id].relationship_word == "neutral"
    assert seen[a.id].life_stage == common_pb2.LIFE_STAGE_ADULT
    assert {route.destination_id for route in message.routes} >= {"open_field", "forest_edge"}
    resolved = tick.resolve(
        state,
        [
            tick.Submission(
                b.id, Action("TRADE_ACCEPT", target_id=perception.trade_offers[0].trade_id), 0
            )
        ],
    )
    events = [
        convert.event_to_proto(e, state, state.tick) for e in [*woke.events, *resolved.events]
    ]
    trade = next(e for e in events if e.type == event_pb2.EVENT_TYPE_TRADE_COMPLETED)
    assert trade.trade.offerer_id == a.id and trade.agent_state.agent_id == b.id
    entries = [convert.entry_to_proto(e, state.tick) for e in resolved.entries]
    assert {e.entry_type for e in entries} == {ledger_pb2.ENTRY_TYPE_TRANSFER}
    assert all(
        e.quantity > 0 and e.from_account.entity_type == ledger_pb2.ENTITY_TYPE_AGENT
        for e in entries
    )
    result = convert.result_to_proto(resolved.results[b.id])
    assert result.success and result.action_type == action_pb2.ACTION_TYPE_TRADE_ACCEPT
    view = convert.world_view(state, "run")
    assert len(view.locations) == 14 and view.population == 3
    assert convert.agent_to_proto(a, state).relationships


def test_rejection_converts_with_details() -> None:
    state = make_world(agents=1)
    (agent,) = agent_list(state)
    result = act(state, agent, Action("EAT", resource="BERRY"))
    message = convert.result_to_proto(result)
    assert message.rejection.reason == action_pb2.REJECTION_REASON_INSUFFICIENT_RESOURCES
    assert message.rejection.details["holds"] == "0"


@pytest.mark.parametrize(
    ("spec", "check"),
    [
        (run_pb2.WorldEventSpec(migration=run_pb2.Migration(count=2)), lambda s, n: s.population == n + 2),
        (run_pb2.WorldEventSpec(internet_unlock=run_pb2.InternetUnlock()), lambda s, n: s.internet_unlocked),
        (run_pb2.WorldEventSpec(plague=run_pb2.Plague(region="Central Valley", ticks=5)), lambda s, n: s.plague_until_tick),
        (run_pb2.WorldEventSpec(resource_boom=run_pb2.ResourceBoom(location_id="beach", ticks=5)), lambda s, n: s.locations["beach"].boom_until_tick == 5),
        (run_pb2.WorldEventSpec(resource_depletion=run_pb2.ResourceDepletion(location_id="beach", resource=common_pb2.RESOURCE_FISH)), lambda s, n: "FISH" not in s.locations["beach"].nodes),
        (run_pb2.WorldEventSpec(contact=run_pb2.Contact(region_a="Highlands", region_b="Coastal Lowlands")), lambda s, n: len(s.routes) == 22),
        (run_pb2.WorldEventSpec(technology_gift=run_pb2.TechnologyGift(knowledge="metalworking")), lambda s, n: any("metalworking" in a.knowledge for a in s.agents.values())),
        (run_pb2.WorldEventSpec(natural_disaster=run_pb2.NaturalDisaster(region="Central Valley")), lambda s, n: all(a.health == 80 for a in s.agents.values())),
    ],
)  # fmt: skip
def test_world_events_apply_and_keep_books(spec, check) -> None:  # type: ignore[no-untyped-def]
    from engine.core.conservation import check_conservation

    state = make_world(agents=3)
    population = state.population
    kind, parameters = convert.world_event_from_proto(spec)
    outcome = apply_world_event(state, kind, parameters)
    assert check(state, population)
    assert outcome.events[-1].type == "WORLD_EVENT"
    assert check_conservation(state) == []


def test_world_event_errors_name_the_problem() -> None:
    state = make_world(agents=1)
    with pytest.raises(WorldEventError, match="region"):
        apply_world_event(state, "plague", {"region": "Mars"})
    with pytest.raises(WorldEventError, match="unknown world event"):
        apply_world_event(state, "meteor", {})
