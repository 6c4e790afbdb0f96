"""runner.devtools.mind_cost: a recorded stream replays to the same decisions every time."""

from __future__ import annotations

from runner.devtools.mind_cost import record, replay


def test_a_replayed_stream_decides_alike_each_time() -> None:
    stream = record(agents=4, ticks=6, seed=3)
    assert stream.decisions >= 4 * 5
    _, first = replay(stream, seed=3)
    _, second = replay(stream, seed=3)
    assert first == second
    # Another seed is another brain's noise: the same perceptions bring other decisions.
    _, other = replay(stream, seed=4)
    assert other != first
