"""World rules on passage and exchange: location capacity, walls, tolls on routes, bridges, walls
and storage, market standing offers, bridges, medicine against plague, and lies found out.

Table-driven like test_engine_actions: each case is a setup, an action of agent a (b stands by at
Riverbank) and the expected outcome ("" = success, else the rejection reason); every rejection
must say what was wrong and the books must balance after every case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from emergence.action_words import AGENTS_HERE_TOKEN
from engine.core import tick
from engine.core.actions import Action
from engine.core.conservation import check_conservation
from engine.core.state import Agent, Structure, WorldState
from engine.core.world_events import apply_world_event
from tests.sim.world_builder import act, act_all, agent_list, grant, make_world, place, reason

Setup = Callable[[WorldState, Agent, Agent], None]
ROUTE = "route-riverbank-open_field"


def nothing(state: WorldState, a: Agent, b: Agent) -> None:
    return None


def combine(*steps: Setup) -> Setup:
    def setup(state: WorldState, a: Agent, b: Agent) -> None:
        for step in steps:
            step(state, a, b)

    return setup


def items(who: str = "a", **quantities: int) -> Setup:
    def setup(state: WorldState, a: Agent, b: Agent) -> None:
        grant(state, a if who == "a" else b, {k.upper(): v for k, v in quantities.items()})

    return setup


def knows(*known: str) -> Setup:
    return lambda state, a, b: a.knowledge.update(known)


def structure(kind: str, owner: str = "", where: str = "riverbank", sid: str = "") -> Setup:
    def setup(state: WorldState, a: Agent, b: Agent) -> None:
        owner_id = {"a": a.id, "b": b.id}.get(owner, "")
        built = Structure(sid or f"s-{kind.lower()}", kind, where, owner_id, owner_id, 0)
        built.access.public = kind not in ("WALL", "STORAGE_PIT")
        state.structures[built.id] = built
        state.locations[where].structure_ids.append(built.id)

    return setup


def toll(target: str, **quantities: int) -> Setup:
    def setup(state: WorldState, a: Agent, b: Agent) -> None:
        thing = state.structures.get(target) or state.routes[target]
        thing.access.toll = {k.upper(): v for k, v in quantities.items()}

    return setup


def route_owner(who: str) -> Setup:
    def setup(state: WorldState, a: Agent, b: Agent) -> None:
        state.routes[ROUTE].owner_id = a.id if who == "a" else b.id

    return setup


def capacity(location_id: str, value: int) -> Setup:
    def setup(state: WorldState, a: Agent, b: Agent) -> None:
        state.locations[location_id].capacity = value

    return setup


def travelling_to(location_id: str) -> Setup:
    """Agent c is on its way to the location (counts against its capacity)."""

    def setup(state: WorldState, a: Agent, b: Agent) -> None:
        c = agent_list(state)[2]
        state.locations[c.location_id].agent_ids.discard(c.id)
        c.destination_id, c.travel_remaining = location_id, 3

    return setup


def group_with_b(state: WorldState, a: Agent, b: Agent) -> None:
    a.group_ids.add("g-1")
    state.structures["s-wall"].access.allowed_group_ids.add("g-1")


def market_offer(state: WorldState, a: Agent, b: Agent) -> None:
    """b posts a standing offer at the market: 2 wood for 1 fish."""
    grant(state, b, {"WOOD": 2})
    result = act(
        state,
        b,
        Action("TRADE_OFFER", target_id="s-market", items=(("WOOD", 2),), want=(("FISH", 1),)),
    )
    assert result.success, result.outcome


def standing(state: WorldState) -> str:
    return next(iter(state.trades))


@dataclass(frozen=True)
class Case:
    name: str
    setup: Setup
    action: Callable[[WorldState, Agent, Agent], Action]
    expected: str


def move(destination: str = "open_field") -> Callable[[WorldState, Agent, Agent], Action]:
    return lambda s, a, b: Action("MOVE", target_id=destination)


CASES = [
    # location capacity: present agents and travellers on their way both count
    Case("move into room", capacity("open_field", 2), move(), ""),
    Case("move into full place", combine(capacity("open_field", 1), lambda s, a, b: place(s, b, "open_field")), move(), "CAPACITY_EXCEEDED"),
    Case("full with travellers", combine(capacity("open_field", 1), travelling_to("open_field")), move(), "CAPACITY_EXCEEDED"),
    # walls: entry only for the owner, their partner and their groups; exile denies
    Case("wall keeps stranger out", structure("WALL", "b", "open_field"), move(), "PERMISSION_DENIED"),
    Case("wall admits owner", structure("WALL", "a", "open_field"), move(), ""),
    Case("wall admits partner", combine(structure("WALL", "b", "open_field"), lambda s, a, b: setattr(a, "partner_id", b.id)), move(), ""),
    Case("wall admits group", combine(structure("WALL", "b", "open_field"), group_with_b), move(), ""),
    Case("wall of the dead is open", structure("WALL", "", "open_field"), move(), ""),
    Case("exiled from own group's wall", combine(structure("WALL", "b", "open_field"), group_with_b, lambda s, a, b: s.structures["s-wall"].access.denied_agent_ids.add(a.id)), move(), "PERMISSION_DENIED"),
    # tolls on routes and walls: paid to the living owner, the owner passes free
    Case("route toll paid", combine(route_owner("b"), toll(ROUTE, wood=2), items(wood=2)), move(), ""),
    Case("route toll unpaid", combine(route_owner("b"), toll(ROUTE, wood=2), items(wood=1)), move(), "INSUFFICIENT_RESOURCES"),
    Case("own route free", combine(route_owner("a"), toll(ROUTE, wood=2)), move(), ""),
    Case("toll of the dead lapses", combine(route_owner("b"), toll(ROUTE, wood=2), lambda s, a, b: setattr(b, "alive", False)), move(), ""),
    Case("wall toll paid", combine(structure("WALL", "b", "open_field"), group_with_b, toll("s-wall", fish=1), items(fish=1)), move(), ""),
    Case("wall toll unpaid", combine(structure("WALL", "b", "open_field"), group_with_b, toll("s-wall", fish=1)), move(), "INSUFFICIENT_RESOURCES"),
    # storage tolls
    Case("storage toll paid", combine(structure("STORAGE_PIT", "b"), lambda s, a, b: setattr(s.structures["s-storage_pit"].access, "public", True), toll("s-storage_pit", fish=1), items(wood=3, fish=1)), lambda s, a, b: Action("DEPOSIT", target_id="s-storage_pit", items=(("WOOD", 3),)), ""),
    Case("storage toll unpaid", combine(structure("STORAGE_PIT", "b"), lambda s, a, b: setattr(s.structures["s-storage_pit"].access, "public", True), toll("s-storage_pit", fish=1), items(wood=3)), lambda s, a, b: Action("DEPOSIT", target_id="s-storage_pit", items=(("WOOD", 3),)), "INSUFFICIENT_RESOURCES"),
    Case("deposit leaves no toll", combine(structure("STORAGE_PIT", "b"), lambda s, a, b: setattr(s.structures["s-storage_pit"].access, "public", True), toll("s-storage_pit", wood=1), items(wood=3)), lambda s, a, b: Action("DEPOSIT", target_id="s-storage_pit", items=(("WOOD", 3),)), "INSUFFICIENT_RESOURCES"),
    # setting a toll: trade_offer aimed at a route or structure one owns
    Case("set route toll", route_owner("a"), lambda s, a, b: Action("TRADE_OFFER", target_id=ROUTE, want=(("WOOD", 1),)), ""),
    Case("clear route toll", combine(route_owner("a"), toll(ROUTE, wood=1)), lambda s, a, b: Action("TRADE_OFFER", target_id=ROUTE), ""),
    Case("toll on another's route", route_owner("b"), lambda s, a, b: Action("TRADE_OFFER", target_id=ROUTE, want=(("WOOD", 1),)), "PERMISSION_DENIED"),
    Case("toll from afar", combine(route_owner("a"), lambda s, a, b: place(s, a, "hilltop")), lambda s, a, b: Action("TRADE_OFFER", target_id=ROUTE, want=(("WOOD", 1),)), "WRONG_LOCATION"),
    Case("toll that gives", combine(route_owner("a"), items(wood=1)), lambda s, a, b: Action("TRADE_OFFER", target_id=ROUTE, items=(("WOOD", 1),), want=(("WOOD", 1),)), "INVALID_ACTION"),
    Case("set wall toll", structure("WALL", "a"), lambda s, a, b: Action("TRADE_OFFER", target_id="s-wall", want=(("FISH", 1),)), ""),
    Case("claim a route", knows("territorial_claim"), lambda s, a, b: Action("CLAIM", target_id=ROUTE), ""),
    Case("claim an owned route", combine(knows("territorial_claim"), route_owner("b")), lambda s, a, b: Action("CLAIM", target_id=ROUTE), "UNAVAILABLE_TARGET"),
    Case("claim a far route", knows("territorial_claim"), lambda s, a, b: Action("CLAIM", target_id="route-rocky_outcrop-hilltop"), "WRONG_LOCATION"),
    # market standing offers
    Case("post standing offer", combine(structure("MARKET"), items(wood=2)), lambda s, a, b: Action("TRADE_OFFER", target_id="s-market", items=(("WOOD", 2),), want=(("FISH", 1),)), ""),
    Case("standing offer unheld", structure("MARKET"), lambda s, a, b: Action("TRADE_OFFER", target_id="s-market", items=(("WOOD", 2),), want=(("FISH", 1),)), "INSUFFICIENT_RESOURCES"),
    Case("standing offer wants nothing", combine(structure("MARKET"), items(wood=2)), lambda s, a, b: Action("TRADE_OFFER", target_id="s-market", items=(("WOOD", 2),)), "INVALID_ACTION"),
    Case("standing offer elsewhere", combine(structure("MARKET", where="open_field"), items(wood=2)), lambda s, a, b: Action("TRADE_OFFER", target_id="s-market", items=(("WOOD", 2),), want=(("FISH", 1),)), "WRONG_LOCATION"),
    Case("accept standing offer", combine(structure("MARKET"), market_offer, items(fish=1)), lambda s, a, b: Action("TRADE_ACCEPT", target_id=standing(s)), ""),
    Case("accept without the price", combine(structure("MARKET"), market_offer), lambda s, a, b: Action("TRADE_ACCEPT", target_id=standing(s)), "INSUFFICIENT_RESOURCES"),
    Case("accept from afar", combine(structure("MARKET"), market_offer, items(fish=1), lambda s, a, b: place(s, a, "open_field")), lambda s, a, b: Action("TRADE_ACCEPT", target_id=standing(s)), "WRONG_LOCATION"),
    Case("withdraw another's offer", combine(structure("MARKET"), market_offer), lambda s, a, b: Action("TRADE_REJECT", target_id=standing(s)), "PERMISSION_DENIED"),
    Case("take market goods", combine(structure("MARKET"), market_offer), lambda s, a, b: Action("WITHDRAW", target_id="s-market", items=(("WOOD", 1),)), "PERMISSION_DENIED"),
    # bridges
    Case("bridge to a known place", combine(items(wood=80, stone=40), knows("bridge_building"), lambda s, a, b: a.known_location_ids.add("hilltop")), lambda s, a, b: Action("BUILD", structure="BRIDGE"), ""),
    Case("bridge shortens a long crossing", combine(items(wood=80, stone=40), knows("bridge_building")), lambda s, a, b: Action("BUILD", structure="BRIDGE"), ""),
    Case("nothing to bridge", combine(items(wood=80, stone=40), knows("bridge_building"), lambda s, a, b: setattr(s.routes["route-riverbank-estuary"], "travel_ticks", 2)), lambda s, a, b: Action("BUILD", structure="BRIDGE"), "UNAVAILABLE_TARGET"),
    Case("bridge unknown", items(wood=80, stone=40), lambda s, a, b: Action("BUILD", structure="BRIDGE"), "UNKNOWN_ACTION"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_world_rule_table(case: Case) -> None:
    state = make_world(agents=3)
    a, b, c = agent_list(state)
    for agent in (a, b, c):
        place(state, agent, "riverbank")
        agent.known_location_ids -= {"hilltop"}
    case.setup(state, a, b)
    result = act(state, a, case.action(state, a, b))
    assert reason(result) == case.expected, result.outcome
    if result.rejection is not None:
        assert result.rejection.message, "every rejection says what was wrong"
    assert check_conservation(state) == []


def test_a_toll_moves_through_the_ledger_to_the_owner() -> None:
    state = make_world(agents=2)
    a, b = agent_list(state)
    for agent in (a, b):
        place(state, agent, "riverbank")
    state.routes[ROUTE].owner_id = b.id
    state.routes[ROUTE].access.toll = {"WOOD": 2}
    grant(state, a, {"WOOD": 5})
    outcome = tick.resolve(
        state, [tick.Submission(a.id, Action("MOVE", target_id="open_field"), 0)]
    )
    assert outcome.results[a.id].success
    assert "2 wood toll" in outcome.results[a.id].outcome
    assert (a.holds("WOOD"), b.holds("WOOD")) == (3, 2)
    [entry] = [e for e in outcome.entries if e.entry_type == "TRANSFER"]
    assert (entry.from_id, entry.to_id, entry.resource, entry.quantity) == (a.id, b.id, "WOOD", 2)
    assert entry.memo.startswith("toll")
    [given] = [e for e in outcome.events if e.type == "ITEMS_GIVEN"]
    assert given.details["reason"] == "toll" and given.details["accepter_id"] == b.id
    assert any("toll" in note for note in b.notifications)


def test_capacity_counts_the_movers_of_the_same_tick() -> None:
    state = make_world(agents=3)
    a, b, c = agent_list(state)
    for agent in (a, b, c):
        place(state, agent, "riverbank")
    state.locations["open_field"].capacity = 2
    results = act_all(
        state, [(agent, Action("MOVE", target_id="open_field")) for agent in (a, b, c)]
    )
    assert [reason(results[x.id]) for x in (a, b, c)] == ["", "", "CONFLICT_LOST"]
    assert "full" in results[c.id].outcome


def test_standing_offer_lives_across_ticks_and_settles_through_the_market() -> None:
    state = make_world(agents=3)
    a, b, c = agent_list(state)
    for agent in (a, b, c):
        place(state, agent, "riverbank")
    structure("MARKET")(state, a, b)
    market_offer(state, a, b)  # b: 2 wood for 1 fish, the wood now held by the market
    offer_id = standing(state)
    assert b.holds("WOOD") == 0 and state.structures["s-market"].storage == {"WOOD": 2}
    place(state, b, "open_field")  # the offerer may leave; the offer stands
    for _ in range(5):
        tick.wake(state)
    grant(state, a, {"FISH": 1})
    perceptions = tick.perceive(state)
    view = perceptions[a.id]
    assert [offer.trade_id for offer in view.trade_offers] == [offer_id]
    accept = {entry.action_type: entry for entry in view.available_actions}["TRADE_ACCEPT"]
    assert offer_id in accept.options["candidates"]
    outcome = tick.resolve(
        state, [tick.Submission(a.id, Action("TRADE_ACCEPT", target_id=offer_id), 0)]
    )
    assert outcome.results[a.id].success, outcome.results[a.id].outcome
    assert (a.holds("WOOD"), a.holds("FISH"), b.holds("FISH")) == (2, 0, 1)
    assert state.structures["s-market"].storage == {} and not state.trades
    assert state.structures["s-market"].prices == {"WOOD for FISH": "2 wood for 1 fish"}
    assert state.locations["riverbank"].board[-1].text == "market price: 2 wood for 1 fish"
    legs = {(e.from_type, e.to_type) for e in outcome.entries if e.entry_type == "TRANSFER"}
    assert legs == {("STRUCTURE", "AGENT"), ("AGENT", "AGENT")}
    assert check_conservation(state) == []


def test_withdrawn_lapsed_and_orphaned_standing_offers_give_the_goods_back() -> None:
    state = make_world(agents=2)
    a, b = agent_list(state)
    for agent in (a, b):
        place(state, agent, "riverbank")
    structure("MARKET")(state, a, b)
    market_offer(state, a, b)
    assert act(state, b, Action("TRADE_REJECT", target_id=standing(state))).success
    assert b.holds("WOOD") == 2 and not state.trades
    market_offer(state, a, b)
    place(state, b, "open_field")
    state.trades[standing(state)].expires_tick = state.tick  # lapses at the next wake
    failed = [e for e in tick.wake(state).events if e.type == "TRADE_FAILED"]
    assert failed and failed[0].details["reason"] == "expired"
    assert b.holds("WOOD") == 4 and state.structures["s-market"].storage == {}
    assert check_conservation(state) == []


def test_a_bridge_opens_a_route_and_takes_it_away_when_it_falls() -> None:
    state = make_world(agents=1)
    [a] = agent_list(state)
    place(state, a, "riverbank")
    a.known_location_ids.add("hilltop")
    a.knowledge.add("bridge_building")
    grant(state, a, {"WOOD": 80, "STONE": 40})
    outcome = tick.resolve(state, [tick.Submission(a.id, Action("BUILD", structure="BRIDGE"), 0)])
    assert outcome.results[a.id].success
    [bridge] = [s for s in state.structures.values() if s.kind == "BRIDGE"]
    route = state.routes[bridge.route_id]
    assert {route.from_location_id, route.to_location_id} == {"riverbank", "hilltop"}
    assert route.travel_ticks == state.config.structures.bridge_travel_ticks
    assert route.owner_id == a.id and route.id in a.explored_route_ids
    assert any(e.type == "ROUTE_IMPROVED" for e in outcome.events)
    # The bridge's toll is the route's toll.
    assert act(state, a, Action("TRADE_OFFER", target_id=bridge.id, want=(("WOOD", 1),))).success
    assert state.routes[route.id].access.toll == {} and bridge.access.toll == {"WOOD": 1}
    bridge.durability = 0.1
    tick.wake(state)
    assert bridge.id not in state.structures and route.id not in state.routes
    assert all(route.id not in ids for ids in state.adjacency.values())


def test_a_bridge_over_the_slowest_crossing_is_undone_with_it() -> None:
    state = make_world(agents=1)
    [a] = agent_list(state)
    place(state, a, "riverbank")
    a.knowledge.add("bridge_building")
    grant(state, a, {"WOOD": 80, "STONE": 40})
    before = state.routes["route-riverbank-estuary"].travel_ticks
    assert act(state, a, Action("BUILD", structure="BRIDGE")).success
    assert state.routes["route-riverbank-estuary"].travel_ticks == 3
    [bridge] = [s for s in state.structures.values() if s.kind == "BRIDGE"]
    assert act(state, a, Action("DEMOLISH", target_id=bridge.id)).success
    assert state.routes["route-riverbank-estuary"].travel_ticks == before


def test_medicine_cures_the_plague_for_the_rest_of_the_outbreak() -> None:
    state = make_world(agents=2)
    a, b = agent_list(state)
    for agent in (a, b):
        place(state, agent, "riverbank")
        agent.health = 50.0
    apply_world_event(state, "plague", {"region": "Central Valley", "ticks": "20"})
    grant(state, a, {"MEDICINE": 1})
    result = act(state, a, Action("HEAL"))
    assert result.success and "cured the plague" in result.outcome
    health = {agent.id: agent.health for agent in (a, b)}
    tick.wake(state)
    loss = {agent.id: health[agent.id] - agent.health for agent in (a, b)}
    plague = state.config.danger.plague_health_loss
    assert loss[b.id] - loss[a.id] == pytest.approx(plague)
    assert any("medicine cures" in note for note in b.notifications)
    # A new outbreak infects everyone again.
    apply_world_event(state, "plague", {"region": "Central Valley", "ticks": "5"})
    assert a.id not in state.plague_cured["Central Valley"]


def test_a_lie_about_a_place_is_found_out_there() -> None:
    state = make_world(agents=2)
    a, b = agent_list(state)
    for agent in (a, b):
        place(state, agent, "riverbank")
    state.locations["open_field"].nodes.pop("FISH", None)
    act(state, a, Action("COMMUNICATE", target_id=b.id, text="there is fish at open field"))
    assert state.deceptions and state.deceptions[0].location_id == "open_field"
    trust_before = b.relationships[a.id]
    place(state, b, "open_field")
    outcome = tick.resolve(state, [tick.Submission(b.id, Action("REST"), 0)])
    [found] = [e for e in outcome.events if e.type == "DECEPTION_DISCOVERED"]
    assert found.agent_id == a.id and found.details["target_agent_id"] == b.id
    assert "found no fish" in str(found.details["truth"])
    assert b.relationships[a.id] < trust_before and not state.deceptions


def test_a_lie_about_holdings_is_found_out_when_the_goods_change_hands() -> None:
    state = make_world(agents=2)
    a, b = agent_list(state)
    for agent in (a, b):
        place(state, agent, "riverbank")
    grant(state, a, {"WOOD": 3})
    act(state, a, Action("COMMUNICATE", target_id=b.id, text="I have no wood"))
    assert len(state.deceptions) == 1
    outcome = tick.resolve(state, [tick.Submission(b.id, Action("REST"), 0)])
    assert not [e for e in outcome.events if e.type == "DECEPTION_DISCOVERED"]
    outcome = tick.resolve(
        state, [tick.Submission(a.id, Action("GIVE", target_id=b.id, items=(("WOOD", 1),)), 0)]
    )
    assert [e.type for e in outcome.events].count("DECEPTION_DISCOVERED") == 1
    assert not state.deceptions


def test_unfound_lies_are_forgotten() -> None:
    state = make_world(agents=2)
    a, b = agent_list(state)
    for agent in (a, b):
        place(state, agent, "riverbank")
    grant(state, a, {"WOOD": 3})
    act(state, a, Action("COMMUNICATE", target_id=b.id, text="I have no wood"))
    state.tick += state.config.actions.deception_memory_ticks + 1
    tick.resolve(state, [])
    assert state.deceptions == []


def test_perception_lists_market_and_toll_forms_only_where_they_apply() -> None:
    state = make_world(agents=2)
    a, b = agent_list(state)
    for agent in (a, b):
        place(state, agent, "riverbank")
    plain = {e.action_type: e for e in tick.perceive(state)[a.id].available_actions}
    assert "TRADE_OFFER" not in plain or "market_ids" not in plain["TRADE_OFFER"].options
    structure("MARKET")(state, a, b)
    state.routes[ROUTE].owner_id = a.id
    grant(state, a, {"WOOD": 2})
    listed = {e.action_type: e for e in tick.perceive(state)[a.id].available_actions}
    options = listed["TRADE_OFFER"].options
    assert options["market_ids"] == "s-market"
    assert ROUTE in options["toll_target_ids"].split(",")
    # Agent targets are the token for "any agent here"; b is among the agents listed.
    assert options["target_agent_id"] == AGENTS_HERE_TOKEN
    assert b.id in {other.agent_id for other in tick.perceive(state)[a.id].agents}
    assert "standing offer" in listed["TRADE_OFFER"].form
