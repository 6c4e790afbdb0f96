"""Environmental and vital rules one by one: each row sets a condition and checks its effect."""

from __future__ import annotations

from engine.core import tick
from engine.core.actions import Action
from engine.core.context import energy_cap
from engine.core.resolve import energy_cost
from engine.core.state import Structure
from tests.sim.world_builder import act, agent_list, make_world, place


def one_agent(location: str = "riverbank"):  # type: ignore[no-untyped-def]
    state = make_world(agents=1)
    (agent,) = agent_list(state)
    place(state, agent, location)
    return state, agent


def test_winter_hunger_is_half_again() -> None:
    state, agent = one_agent()
    state.tick = 3 * state.config.time.season_length_ticks  # wakes into winter
    state.season = "WINTER"
    tick.wake(state)
    assert agent.hunger == 7.5


def test_drought_halves_water_regeneration() -> None:
    state, _ = one_agent()
    node = state.locations["estuary"].nodes["WATER"]
    state.world_in["WATER"] -= node.available - 100  # setup: as if only 100 had grown
    node.available = 100
    from dataclasses import replace

    drought_only = replace(state.config.weather, spring_weights=(0.0, 0.0, 0.0, 1.0, 0.0))
    state.config = replace(state.config, weather=drought_only)
    tick.wake(state)
    assert state.weather == "DROUGHT"
    assert node.available == 100 + int(20 * 1.25 * 0.5)


def test_energy_cap_falls_to_fifty_in_old_age_and_moving_costs_more() -> None:
    state, agent = one_agent()
    agent.born_tick = -int(agent.lifespan * 0.8)
    assert energy_cap(state, agent) == 100
    agent.born_tick = -(agent.lifespan - 1)
    assert 50 <= energy_cap(state, agent) < 51
    state.tick = 1
    assert energy_cost(state, agent, "MOVE") == 15 * 1.5


def test_night_costs_more_and_rest_gives_more() -> None:
    state, agent = one_agent()
    state.tick = 4  # night
    assert state.is_night
    assert energy_cost(state, agent, "GATHER") == 12.5
    agent.energy = 10
    act(state, agent, Action("REST"))
    assert agent.energy == 10 + 45


def test_low_health_halves_rest() -> None:
    state, agent = one_agent()
    state.tick = 1
    agent.energy, agent.health = 10, 20
    act(state, agent, Action("REST"))
    assert agent.energy == 25


def test_sheltered_and_fed_agents_heal_two_per_tick() -> None:
    state, agent = one_agent("mountain_cave")
    agent.health, agent.energy = 50, 90
    tick.wake(state)
    assert agent.health == 52


def test_danger_injures_at_dangerous_places() -> None:
    state, agent = one_agent("volcanic_vent")
    hurt = 0
    for _ in range(20):
        agent.health, agent.hunger, agent.thirst = 100, 0, 0
        tick.wake(state)
        hurt += agent.health < 100
    assert 0 < hurt < 20


def test_plague_costs_health_in_its_region() -> None:
    state, agent = one_agent()
    state.plague_until_tick["Central Valley"] = 10
    tick.wake(state)
    assert agent.health == 100 - state.config.danger.plague_health_loss + 0.5


def test_built_paths_decay_back_a_step() -> None:
    state, _ = one_agent()
    route = state.routes["route-riverbank-open_field"]
    route.path_type, route.decay_per_tick, route.durability = "DIRT_TRAIL", 0.2, 0.1
    outcome = tick.wake(state)
    assert route.path_type == "NONE"
    assert "ROUTE_IMPROVED" in [event.type for event in outcome.events]


def test_storm_doubles_structure_decay_and_occupancy_halves_it() -> None:
    state, agent = one_agent()
    # A lean-to wears at the spec's default 0.5 a tick (stone-built kinds wear slower).
    hut = Structure("hut", "LEAN_TO", "riverbank", agent.id, agent.id, 0)
    state.structures[hut.id] = hut
    state.locations["riverbank"].structure_ids.append(hut.id)
    from dataclasses import replace

    storms = replace(state.config.weather, spring_weights=(0.0, 0.0, 1.0, 0.0, 0.0))
    state.config = replace(state.config, weather=storms)
    tick.wake(state)
    assert hut.durability == 99.0
    hut.occupant_ids.add(agent.id)
    tick.wake(state)
    assert hut.durability == 98.5


def test_well_adds_a_water_source() -> None:
    state, agent = one_agent("forest_edge")
    from tests.sim.world_builder import grant

    grant(state, agent, {"STONE": 20})
    agent.knowledge.add("masonry")
    assert act(state, agent, Action("BUILD", structure="WELL")).success
    state.weather = "CLEAR"
    tick.wake(state)
    assert state.locations["forest_edge"].nodes["WATER"].available > 0
