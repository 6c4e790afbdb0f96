"""What an agent learns of the seasons: food per head seen in each, a lean season announced before
it is lived through, and the food put by for what the coming season will fall short of."""

from __future__ import annotations

import random

from emergence.v1 import common_pb2
from engine.core.state import Agent, Structure, WorldState
from runner.core.memory import AgentMemory, from_dict, observe, to_dict
from runner.core.plans_survival import food_target, survival
from runner.core.seasons import (
    expected_share,
    kept_share,
    note_keeping,
    note_season,
    shortfall_ticks,
)
from runner.core.situation import Situation
from tests.sim.world_builder import agent_list, grant, make_world, place
from tests.unit.test_runner_fixtures import perceptions


def test_a_season_lived_through_is_remembered_by_its_food_per_head() -> None:
    plenty: dict[str, tuple[float, int]] = {}
    for _ in range(10):
        note_season(plenty, "AUTUMN", 40, 8.0, [])
    for _ in range(10):
        note_season(plenty, "WINTER", 60, 2.0, [])

    assert plenty["AUTUMN"] == (8.0, 10) and plenty["WINTER"] == (2.0, 10)
    assert expected_share(plenty, "WINTER", "AUTUMN") == 0.25
    assert expected_share(plenty, "AUTUMN", "WINTER") == 1.0
    assert expected_share(plenty, "SPRING", "WINTER") == 1.0  # never seen: expect no less


def test_a_lean_season_announced_is_expected_before_it_is_lived_through() -> None:
    plenty: dict[str, tuple[float, int]] = {}
    note_season(plenty, "AUTUMN", 30, 10.0, ["winter in 30 days: food will be scarce"])
    assert plenty["WINTER"] == (3.0, 1)
    # Living through it replaces the guess with what was seen.
    for _ in range(30):
        note_season(plenty, "WINTER", 80, 6.0, [])
    assert 5.8 < plenty["WINTER"][0] <= 6.0


def test_the_shortfall_is_the_next_season_at_how_much_leaner_it_is() -> None:
    plenty = {"SPRING": (10.0, 90), "SUMMER": (10.0, 90), "AUTUMN": (8.0, 90), "WINTER": (2.0, 90)}
    # Summer: autumn holds 80 % of summer's food per head: a fifth of it is put by.
    assert abs(shortfall_ticks(plenty, "SUMMER", 90) - 18) < 1e-9
    # Autumn: the whole winter at 75 % short, however far off it still is.
    assert shortfall_ticks(plenty, "AUTUMN", 90) == 67.5
    # Winter: spring is richer; what winter itself lacks was put by in autumn.
    assert shortfall_ticks(plenty, "WINTER", 90) == 0
    # A crowd that empties its place in spring does not make the coming summer read as lean.
    assert shortfall_ticks({**plenty, "SPRING": (3.0, 90)}, "SPRING", 90) == 0


def test_an_agent_warned_of_winter_wants_more_food_put_by_for_it() -> None:
    state = make_world(agents=1, seed=3)
    state.tick, state.season = 240, "AUTUMN"  # 30 days before winter
    agent = agent_list(state)[0]
    place(state, agent, "riverbank")
    found = perceptions(state)[agent.id]
    memory = AgentMemory(agent.id)
    observe(memory, found)
    calm = food_target(Situation.read(found, memory, random.Random(1)))
    found.notifications.append("winter in 30 days: food will be scarce")
    observe(memory, found)
    warned = food_target(Situation.read(found, memory, random.Random(1)))

    assert warned > calm
    assert from_dict(to_dict(memory)).season_plenty == memory.season_plenty


def test_how_fast_a_food_spoils_is_learnt_from_what_spoiled_in_the_pack() -> None:
    spoilage: dict[str, tuple[float, float]] = {}
    assert kept_share(spoilage, "FISH", 50) == 1.0  # nothing held yet: nothing known
    for tick in range(50):
        notes = ["food spoiled: 1 fish"] if tick % 10 == 9 else []
        note_keeping(spoilage, {"FISH": 10, "ROOT": 10, "WATER": 5}, notes)

    assert spoilage["FISH"] == (5.0, 500.0) and spoilage["ROOT"] == (0.0, 500.0)
    assert "WATER" not in spoilage
    assert kept_share(spoilage, "ROOT", 60) == 1.0
    assert abs(kept_share(spoilage, "FISH", 60) - 0.99**60) < 1e-9


def test_before_a_lean_season_an_agent_leaves_a_crowd_for_a_place_that_feeds_more() -> None:
    state = make_world(agents=12, seed=3)
    state.tick, state.season = 200, "AUTUMN"
    agents = agent_list(state)
    for agent in agents:
        place(state, agent, "riverbank")
    mover = agents[0]
    grant(state, mover, {"WATER": 4})  # too little to set off for a place never seen
    found = perceptions(state)[mover.id]
    memory = AgentMemory(mover.id)
    observe(memory, found)
    memory.season_plenty = {"AUTUMN": (4.0, 90), "WINTER": (1.0, 90)}
    # Remembered from a visit: the lake had plenty of fish and berries and nobody there.
    lake = memory.places["lakeshore"]
    lake.seen_tick, lake.crowd = 100, 0
    lake.resources = {"WATER": 5, "FISH": 4, "BERRY": 3}
    memory.places["riverbank"].resources = {"WATER": 5, "FISH": 1}

    reasons = {
        c.reason: c.action for c in survival(Situation.read(found, memory, random.Random(1)))
    }

    [leave] = [text for text in reasons if text.startswith("leave a place")]
    assert reasons[leave].move.destination_id == "lakeshore"
    # With the store already full for the winter, there is no reason to go.
    grant(state, mover, {"ROOT": 38})
    found = perceptions(state)[mover.id]
    calm = survival(Situation.read(found, memory, random.Random(1)))
    assert not any(c.reason.startswith("leave a place") for c in calm)


def _crowd_before_winter(water: int) -> tuple[WorldState, Agent, AgentMemory]:
    """Twelve at a bare Riverbank in autumn, one of them remembering the dry Forest Edge (two
    ticks away) full of berries and roots, and a winter expected to hold a quarter of autumn."""
    state = make_world(agents=12, seed=3)
    state.tick, state.season = 200, "AUTUMN"
    agents = agent_list(state)
    for agent in agents:
        place(state, agent, "riverbank")
    mover = agents[0]
    grant(state, mover, {"WATER": water})
    memory = AgentMemory(mover.id)
    observe(memory, perceptions(state)[mover.id])
    memory.season_plenty = {"AUTUMN": (4.0, 90), "WINTER": (1.0, 90)}
    memory.places["riverbank"].resources = {"WATER": 5, "FISH": 1}
    wood = memory.places["forest_edge"]
    wood.seen_tick, wood.crowd = 100, 0
    wood.resources = {"BERRY": 4, "ROOT": 3}
    return state, mover, memory


def _leaving(state: WorldState, mover: Agent, memory: AgentMemory) -> list[str]:
    found = perceptions(state)[mover.id]
    return [
        candidate.action.move.destination_id
        for candidate in survival(Situation.read(found, memory, random.Random(1)))
        if candidate.reason.startswith("leave a place")
    ]


def test_a_dry_place_full_of_food_is_worth_a_trip_when_the_water_carried_lasts_it() -> None:
    state, mover, memory = _crowd_before_winter(water=4)
    assert _leaving(state, mover, memory) == ["forest_edge"]
    thirsty_state, thirsty, thirsty_memory = _crowd_before_winter(water=3)
    assert _leaving(thirsty_state, thirsty, thirsty_memory) == []


def test_a_crowd_leaves_for_the_most_food_per_head_for_the_way_not_the_nearest_place() -> None:
    state, mover, memory = _crowd_before_winter(water=4)
    # The wood nearby is as full, but twenty went there; the lake three ticks away is empty.
    memory.places["forest_edge"].crowd = 20
    lake = memory.places["lakeshore"]
    lake.seen_tick, lake.crowd = 100, 0
    lake.resources = {"WATER": 5, "FISH": 4, "BERRY": 3}
    assert _leaving(state, mover, memory) == ["lakeshore"]


def test_raw_food_held_by_a_fire_is_cooked_to_feed_more_and_keep_longer() -> None:
    state = make_world(agents=1, seed=3)
    cook = agent_list(state)[0]
    place(state, cook, "riverbank")
    cook.knowledge.add("cooking")
    grant(state, cook, {"BERRY": 5, "WATER": 4})
    fire = Structure("fire", "CAMPFIRE", "riverbank", cook.id, cook.id, 0)
    state.structures[fire.id] = fire
    state.locations["riverbank"].structure_ids.append(fire.id)
    found = perceptions(state)[cook.id]
    memory = AgentMemory(cook.id)
    observe(memory, found)
    cooking = [
        candidate
        for candidate in survival(Situation.read(found, memory, random.Random(1)))
        if candidate.reason == "cook berry to keep"
    ]
    assert [candidate.action.cook.food for candidate in cooking] == [common_pb2.RESOURCE_BERRY]
    # Without a fire nothing is offered.
    del state.structures[fire.id]
    state.locations["riverbank"].structure_ids.remove(fire.id)
    found = perceptions(state)[cook.id]
    assert not any(
        candidate.reason.startswith("cook")
        for candidate in survival(Situation.read(found, memory, random.Random(1)))
    )
