"""The in-process simulator's population figures: the society benchmark's definitions over the
alive count of every tick, on the default or a generated map."""

from __future__ import annotations

import math

from runner.devtools.simulate import population_of, simulate


def test_simulate_on_a_generated_map_counts_the_living_every_tick() -> None:
    values, counts, _ = simulate(agents=6, ticks=40, seed=3, map_name="generated", locations=24)

    assert len(counts.alive) == 41  # tick 0 and each tick run
    assert counts.alive[0] == 6 and counts.alive[-1] == values["alive_at_end"]
    assert sum(counts.deaths_by_season.values()) == values.get("deaths", 0)
    figures = population_of(counts)
    assert figures["population_start"] == 6
    assert figures["population_min"] == min(counts.alive)
    assert 0 <= figures["die_off_50"] <= 1
    assert math.isnan(figures["alive_share_at_300"])  # a 40-tick run has no tick 300


def test_population_figures_find_the_worst_fall_within_fifty_ticks() -> None:
    _, counts, _ = simulate(agents=2, ticks=1, seed=1)
    counts.alive = [10] * 20 + [9, 8, 7, 6] + [6] * 60 + [5]

    figures = population_of(counts)

    assert (
        figures["die_off_50"] == 0.4 and figures["die_off_50_tick"] == 0
    )  # the first window with it
    assert figures["population_end"] == 5 and figures["population_min"] == 5
