"""A whole embedded hybrid run whose model endpoint refuses every connection: the circuit
breakers open, the run finishes in seconds rather than minutes, and every model-routed decision
is a heuristic fallback that says why."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.society import StubOptions, decision_figures, run_society, stored_decisions
from emergence.v1 import run_pb2
from runner.core.routing import circuit_open_reason


async def test_a_run_with_the_model_down_finishes_quickly_on_the_heuristic(
    tmp_path: Path,
) -> None:
    arguments = argparse.Namespace(
        agents=5, ticks=40, seed=11, brain="hybrid", out=str(tmp_path), json=True
    )
    summary, store_url = await run_society(arguments, options=StubOptions(down=True, seed=11))

    assert summary.ticks == 40 and summary.end_reason == "max_ticks" and summary.ledger_verified
    # Without the breaker each of the ~150 model-routed decisions retried for ~0.75 s.
    assert summary.wall_seconds < 10, summary.wall_seconds
    decisions = await stored_decisions(store_url, summary.run_id)
    routed = [d.record for d in decisions if d.record.route.startswith("llm:")]
    assert len(routed) > 100
    assert all(r.fallback and r.brain == run_pb2.BRAIN_KIND_HEURISTIC for r in routed)
    reasons = {circuit_open_reason("default"), circuit_open_reason("escalation")}
    short = [r for r in routed if r.fallback_reason in reasons]
    assert len(short) > 0.8 * len(routed)
    figures = decision_figures(decisions)
    assert 1 <= figures["circuit_opens"] <= 2
    assert figures["circuit_open_fallbacks"] == len(short)
    assert figures["fallback_reasons"]["circuit open"] == len(short)
    assert figures["timeouts"] == 0
