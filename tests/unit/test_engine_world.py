"""Wake-phase rules: clock, seasons, weather, regeneration, decay, vitals, travel, death, discovery."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engine.core import tick
from engine.core.actions import Action
from engine.core.config import ConfigError, load_world_config
from engine.core.conservation import check_conservation
from engine.core.entries import balance_digest, state_balances
from engine.core.environment import season_of
from engine.core.state import Structure
from engine.core.world import new_world
from tests.sim.world_builder import act, act_all, agent_list, grant, make_world, place


def test_default_map_has_fourteen_locations_three_hidden_and_twenty_one_routes() -> None:
    state = make_world(agents=0)
    assert len(state.locations) == 14
    assert sum(location.hidden for location in state.locations.values()) == 3
    assert len(state.routes) == 21
    assert sum(route.hidden for route in state.routes.values()) == 3


def test_genesis_stocks_are_regeneration_entries_and_agents_are_born() -> None:
    state, events, entries = new_world(load_world_config(None), seed=3, agents=5)
    assert {entry.entry_type for entry in entries} == {"REGENERATION"}
    assert state.locations["riverbank"].nodes["WATER"].available == 999
    assert [event.type for event in events] == ["AGENT_BORN"] * 5
    assert all(event.details["origin"] == "seed" for event in events)
    assert check_conservation(state) == []
    assert all(
        agent.location_id in {"riverbank", "open_field", "forest_edge", "lakeshore"}
        for agent in state.agents.values()
    )
    assert all("gather_food" in agent.knowledge for agent in state.agents.values())


def test_generated_map_is_connected_and_seeded() -> None:
    config = load_world_config(None)
    first, _, _ = new_world(config, seed=9, agents=4, map_name="generated", generated_locations=60)
    again, _, _ = new_world(config, seed=9, agents=4, map_name="generated", generated_locations=60)
    other, _, _ = new_world(config, seed=10, agents=4, map_name="generated", generated_locations=60)
    assert len(first.locations) == 60
    assert sorted(first.routes) == sorted(again.routes)
    assert sorted(first.routes) != sorted(other.routes)
    reached, frontier = {"loc-0000"}, ["loc-0000"]
    while frontier:
        here = frontier.pop()
        for route in first.routes_from(here):
            there = route.other_end(here)
            if there not in reached:
                reached.add(there)
                frontier.append(there)
    assert reached == set(first.locations)


def test_generated_map_is_livable_for_a_thousand() -> None:
    """Every place has food and fresh water at most one short walk away; 1 000 seed agents start
    over enough regions that no place holds more than 15 of them."""
    config = load_world_config(None)
    state, _, _ = new_world(
        config, seed=42, agents=1000, map_name="generated", generated_locations=200
    )
    foods = set(config.resources.foods)
    for location in state.locations.values():
        assert foods & set(location.nodes), location.name
        watered = "WATER" in location.nodes or any(
            "WATER" in state.locations[route.other_end(location.id)].nodes
            and route.travel_ticks <= 3
            for route in state.routes_from(location.id)
        )
        assert watered, location.name
    seated = [len(location.agent_ids) for location in state.locations.values()]
    assert sum(seated) == 1000 and max(seated) <= 15
    lake = state.locations["loc-0000"]
    assert "Lake" in lake.name and lake.nodes["WATER"].regen_per_tick == 30
    assert lake.capacity == 80 and state.locations["loc-0001"].capacity == 50


def test_config_rejects_unknown_keys_and_wrong_types_by_name() -> None:
    with pytest.raises(ConfigError) as unknown:
        load_world_config({"vitals": {"thirsty": 3}})
    assert unknown.value.key == "vitals.thirsty"
    with pytest.raises(ConfigError) as wrong:
        load_world_config({"time": {"season_length_ticks": "long"}})
    assert wrong.value.key == "time.season_length_ticks"
    partial = load_world_config({"actions": {"energy": {"GATHER": 12}}, "population": {"cap": 10}})
    assert partial.actions.energy["GATHER"] == 12 and partial.actions.energy["MOVE"] == 15
    assert partial.population.cap == 10


def test_seasons_follow_the_clock_and_change_is_an_event() -> None:
    state = make_world(agents=1)
    length = state.config.time.season_length_ticks
    assert [season_of(state, t) for t in (0, length, 2 * length, 3 * length, 4 * length)] == [
        "SPRING", "SUMMER", "AUTUMN", "WINTER", "SPRING",
    ]  # fmt: skip
    state.tick = length - 1
    outcome = tick.wake(state)
    assert state.season == "SUMMER"
    assert "SEASON_CHANGED" in [event.type for event in outcome.events]


def test_weather_is_season_weighted_snow_only_in_winter() -> None:
    state = make_world(agents=0)
    seen: dict[str, set[str]] = {}
    for _ in range(360):
        tick.wake(state)
        seen.setdefault(state.season, set()).add(state.weather)
    assert "SNOW" in seen["WINTER"]
    assert all("SNOW" not in seen[season] for season in ("SPRING", "SUMMER", "AUTUMN"))


def test_regeneration_follows_season_and_caps_at_maximum() -> None:
    state = make_world(agents=0)
    node = state.locations["forest_edge"].nodes["WOOD"]
    state.world_in["WOOD"] -= node.available  # test setup: as if the stock had never grown
    node.available = 0
    state.weather = "CLEAR"
    tick.wake(state)  # spring: 8 × 1.25 = 10
    assert node.available == 10
    state.world_in["WOOD"] += node.maximum - node.available
    node.available = node.maximum
    tick.wake(state)
    assert node.available == node.maximum
    assert check_conservation(state) == []


def test_hunger_thirst_and_starvation() -> None:
    state = make_world(agents=1)
    (agent,) = agent_list(state)
    tick.wake(state)
    assert agent.hunger == 5 and agent.thirst == 8
    agent.hunger = agent.thirst = 100
    health = agent.health
    tick.wake(state)
    assert agent.health == health - 25


@pytest.mark.parametrize(
    ("setup", "cause"),
    [
        (lambda agent, state: setattr(agent, "thirst", 100) or setattr(agent, "health", 10), "DEHYDRATION"),
        (lambda agent, state: setattr(agent, "hunger", 100) or setattr(agent, "health", 5), "STARVATION"),
        (lambda agent, state: setattr(agent, "born_tick", -agent.lifespan), "OLD_AGE"),
        (lambda agent, state: setattr(agent, "health", 0.0) or setattr(agent, "last_injury", "injury"), "INJURY"),
        (lambda agent, state: setattr(agent, "health", 0.0) or setattr(agent, "last_injury", "burn"), "EXPOSURE"),
        (lambda agent, state: setattr(agent, "health", 0.0) or setattr(agent, "last_injury", "disease"), "DISEASE"),
    ],
)  # fmt: skip
def test_each_cause_of_death_drops_inventory_and_orphans_structures(setup, cause) -> None:  # type: ignore[no-untyped-def]
    state = make_world(agents=2)
    agent, friend = agent_list(state)
    place(state, agent, "riverbank")
    friend.relationships[agent.id] = 0.3
    grant(state, agent, {"WOOD": 3})
    hut = Structure("hut", "LEAN_TO", "riverbank", agent.id, agent.id, 0)
    state.structures[hut.id] = hut
    state.locations["riverbank"].structure_ids.append(hut.id)
    setup(agent, state)
    outcome = tick.wake(state)
    died = [event for event in outcome.events if event.type == "AGENT_DIED"]
    assert len(died) == 1 and died[0].details["cause"] == f"DEATH_CAUSE_{cause}"
    assert not agent.alive and agent.inventory == {}
    assert state.locations["riverbank"].ground["WOOD"] == 3
    assert hut.owner_id == "" and died[0].details["orphaned_structure_ids"] == ["hut"]
    assert any(agent.name in note for note in friend.notifications)
    assert agent.id not in state.locations["riverbank"].agent_ids
    assert check_conservation(state) == []
    assert agent.id not in tick.perceive(state)


def test_travel_takes_route_ticks_and_arrival_places_once() -> None:
    state = make_world(agents=1)
    (agent,) = agent_list(state)
    place(state, agent, "riverbank")
    state.weather = "CLEAR"
    assert act(state, agent, Action("MOVE", target_id="estuary")).success
    ticks = agent.travel_remaining
    assert ticks >= 6 and agent.id not in state.locations["riverbank"].agent_ids
    for _ in range(ticks):
        assert agent.id not in tick.perceive(state)
        tick.wake(state)
    assert agent.location_id == "estuary" and not agent.in_transit
    holders = [loc.id for loc in state.locations.values() if agent.id in loc.agent_ids]
    assert holders == ["estuary"] and "estuary" in agent.known_location_ids


def test_storm_blocks_travel_and_rain_slows_it() -> None:
    state = make_world(agents=1)
    (agent,) = agent_list(state)
    place(state, agent, "riverbank")
    state.weather = "STORM"
    result = act(state, agent, Action("MOVE", target_id="open_field"))
    assert result.rejection is not None and result.rejection.reason == "WEATHER_BLOCKED"
    state.weather = "RAIN"
    act(state, agent, Action("MOVE", target_id="open_field"))
    assert agent.travel_remaining == 3


def test_structure_decays_and_collapses_dropping_salvage() -> None:
    state = make_world(agents=1)
    (agent,) = agent_list(state)
    place(state, agent, "riverbank")
    grant(state, agent, {"WOOD": 10})
    agent.knowledge.add("build_lean_to")
    act(state, agent, Action("BUILD", structure="LEAN_TO"))
    structure = next(iter(state.structures.values()))
    structure.durability = 0.4
    state.weather = "CLEAR"
    outcome = tick.wake(state)
    assert "STRUCTURE_DESTROYED" in [event.type for event in outcome.events]
    assert structure.id not in state.structures
    assert state.locations["riverbank"].ground.get("WOOD", 0) == 2  # 30 % of 8
    assert check_conservation(state) == []


def test_explore_reveals_hidden_route_with_seeded_chance() -> None:
    found = 0
    for seed in range(10):
        state = make_world(agents=1, seed=seed)
        (agent,) = agent_list(state)
        place(state, agent, "forest_edge")
        for _ in range(6):
            agent.energy = 100
            act(state, agent, Action("EXPLORE"))
        if "route-forest_edge-deep_forest" in agent.explored_route_ids:
            found += 1
            routes = {r.route_id for r in tick.perceive(state)[agent.id].routes}
            assert "route-forest_edge-deep_forest" in routes
    assert found > 0


def test_hilltop_reveals_adjacent_regions() -> None:
    state = make_world(agents=1)
    (agent,) = agent_list(state)
    place(state, agent, "open_field")
    state.weather = "CLEAR"
    act(state, agent, Action("MOVE", target_id="hilltop"))
    for _ in range(agent.travel_remaining):
        tick.wake(state)
    assert {"rocky_outcrop", "mountain_cave", "beach"} <= agent.known_location_ids


def test_rest_in_shelter_gives_more_energy() -> None:
    state = make_world(agents=2)
    a, b = agent_list(state)
    for agent in (a, b):
        place(state, agent, "riverbank")
        agent.energy = 10
    lean_to = Structure("lean", "LEAN_TO", "riverbank", a.id, a.id, 0)
    state.structures[lean_to.id] = lean_to
    state.locations["riverbank"].structure_ids.append(lean_to.id)
    state.tick = 1  # not night
    act_all(state, [(a, Action("REST")), (b, Action("REST"))])
    # The lean-to holds one: the first to rest gets ×1.2, the other rests in the open.
    assert a.energy == 10 + 36 and b.energy == 10 + 30


def test_discovery_paths_experiment_observe_accident() -> None:
    state = make_world(agents=2)
    a, b = agent_list(state)
    for agent in (a, b):
        place(state, agent, "riverbank")
        agent.personality["curiosity"] = 1.0
    fire = Structure("fire", "CAMPFIRE", "riverbank", a.id, a.id, 0)
    state.structures[fire.id] = fire
    state.locations["riverbank"].structure_ids.append(fire.id)
    methods: set[str] = set()
    for _ in range(40):
        a.energy = b.energy = 100
        a.inventory.clear()
        state.locations["riverbank"].nodes["FISH"].available = 20
        outcome = tick.resolve(state, [tick.Submission(a.id, Action("GATHER", resource="FISH"), 0)])
        state.tick += 1
        methods |= {e.details["method"] for e in outcome.events if e.type == "KNOWLEDGE_DISCOVERED"}
        if "cooking" in a.knowledge:
            break
    assert "cooking" in a.knowledge and "DISCOVERY_METHOD_EXPERIMENTATION" in methods
    a.knowledge.add("basic_tools")
    b.knowledge.discard("basic_tools")
    state.activity = {"riverbank": [(a.id, "CRAFT", "basic_tools")]}
    for _ in range(30):
        outcome = tick.resolve(state, [])
        state.activity = {"riverbank": [(a.id, "CRAFT", "basic_tools")]}
        from engine.core.resolve import Resolver

        resolver = Resolver(state)
        resolver.observation_learning()
        state.tick += 1
        if "basic_tools" in b.knowledge:
            break
    assert "basic_tools" in b.knowledge
    state.config = replace(
        state.config, knowledge=replace(state.config.knowledge, accidental_chance=0.5)
    )
    before = set(a.knowledge)
    for _ in range(20):
        a.hunger = a.thirst = 0
        tick.wake(state)
    assert a.knowledge - before


def test_balance_digest_is_order_independent_and_skips_zeros() -> None:
    state = make_world(agents=2)
    balances = state_balances(state)
    shuffled = dict(reversed(list(balances.items())))
    assert balance_digest(balances) == balance_digest(shuffled)
    assert balance_digest({**balances, ("AGENT", "x", "WOOD"): 0}) == balance_digest(balances)
    assert balance_digest({**balances, ("AGENT", "x", "WOOD"): 1}) != balance_digest(balances)


def test_era_changes_when_a_group_forms() -> None:
    state = make_world(agents=2)
    a, b = agent_list(state)
    place(state, a, "riverbank")
    place(state, b, "riverbank")
    a.knowledge.add("group_formation")
    outcome = tick.resolve(
        state, [tick.Submission(a.id, Action("FORM_GROUP", name="Us", agent_ids=(b.id,)), 0)]
    )
    assert state.era == "TRIBAL"
    assert "ERA_CHANGED" in [event.type for event in outcome.events]
