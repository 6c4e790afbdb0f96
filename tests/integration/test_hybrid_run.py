"""A whole embedded run with the hybrid brain against `emergence stub-llm` as its own process on
loopback, with malformed replies and 429s: the run completes and the history records every
decision's brain, model, latency and tokens, and counts the fallbacks."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.society import StubOptions, decision_figures, run_society, stored_decisions
from emergence.v1 import run_pb2
from engine.adapters.event_store import open_event_store


async def test_hybrid_run_against_the_stub_process_records_every_decision(tmp_path: Path) -> None:
    arguments = argparse.Namespace(
        agents=5, ticks=30, seed=11, brain="hybrid", out=str(tmp_path), json=True
    )
    options = StubOptions(latency_ms=2, malformed_rate=0.3, rate_limit_rate=0.2, seed=11)
    summary, store_url = await run_society(arguments, options=options)

    assert summary.ticks == 30 and summary.end_reason == "max_ticks" and summary.ledger_verified
    decisions = await stored_decisions(store_url, summary.run_id)
    store = open_event_store(store_url)
    await store.open()
    try:
        rows = await store.tick_rows(summary.run_id, from_tick=1)
    finally:
        await store.close()
    assert len(rows) == 30
    assert {d.tick for d in decisions} == set(range(1, 31))

    figures = decision_figures(decisions)
    assert figures["timeouts"] <= 0.05 * len(decisions)
    routed = [d.record for d in decisions if d.record.route.startswith("llm:")]
    assert routed, "the hybrid brain sent nothing to the model"
    for decision in decisions:
        record = decision.record
        if record.brain == run_pb2.BRAIN_KIND_ENGINE:
            continue  # a timeout the engine filled in
        assert record.brain != run_pb2.BRAIN_KIND_UNSPECIFIED and record.route
        assert record.latency_ms > 0
    for record in routed:
        assert record.model in ("stub-small", "stub-large")
        if not record.fallback or record.fallback_reason.startswith("unusable reply"):
            # The model answered: its tokens and cost are on the record.
            assert record.tokens_in > 0 and record.tokens_out > 0 and record.cost_usd > 0
    answered = [r for r in routed if r.brain == run_pb2.BRAIN_KIND_LLM]
    assert answered and any(r.repaired for r in answered)

    fallbacks = [d.record for d in decisions if d.record.fallback]
    assert fallbacks, "30 % malformed replies produced no fallback"
    assert all(r.fallback_reason and r.brain == run_pb2.BRAIN_KIND_HEURISTIC for r in fallbacks)
    # The tick summaries count the same fallbacks the decisions carry.
    assert sum(row.summary.llm.fallbacks for row in rows) == len(fallbacks)
    assert sum(row.summary.llm.calls for row in rows) == len(answered)
