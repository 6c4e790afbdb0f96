"""A whole embedded run with the hybrid brain against `emergence stub-llm` as its own process on
loopback, with malformed replies and 429s: the run completes and the history records every
decision's brain, model, latency and tokens, and counts the fallbacks."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.society import StubOptions, decision_figures, run_society, stored_decisions
from emergence.mesh import metrics
from emergence.v1 import run_pb2
from engine.adapters.event_store import open_event_store


async def test_hybrid_run_against_the_stub_process_records_every_decision(tmp_path: Path) -> None:
    arguments = argparse.Namespace(
        agents=5, ticks=30, seed=11, brain="hybrid", out=str(tmp_path), json=True
    )
    options = StubOptions(latency_ms=2, malformed_rate=0.3, rate_limit_rate=0.2, seed=11)
    before = metric_values()
    summary, store_url = await run_society(arguments, options=options)
    counted = {name: value - before[name] for name, value in metric_values().items()}

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

    # The same run seen through /metrics (one registry for the whole embedded process).
    assert counted["llm_calls"] >= len(answered)
    assert counted["llm_tokens_in"] >= sum(r.tokens_in for r in answered) > 0
    assert counted["llm_cost_usd"] > 0
    assert counted["fallbacks"] >= len(fallbacks)
    assert counted["ledger_commits"] == 31  # genesis and 30 ticks
    assert counted["engine_ticks"] == 30


def metric_values() -> dict[str, float]:
    default = {"backend": "default"}
    return {
        "llm_calls": metrics.sample(
            "emergence_runner_llm_calls_total", {**default, "outcome": "ok"}
        )
        + metrics.sample(
            "emergence_runner_llm_calls_total", {"backend": "escalation", "outcome": "ok"}
        ),
        "llm_tokens_in": sum(
            metrics.sample("emergence_runner_llm_tokens_total", {"backend": b, "direction": "in"})
            for b in ("default", "escalation")
        ),
        "llm_cost_usd": sum(
            metrics.sample("emergence_runner_llm_cost_usd_total", {"backend": b})
            for b in ("default", "escalation")
        ),
        "fallbacks": metrics.sample("emergence_runner_fallbacks_total"),
        "ledger_commits": metrics.sample("emergence_ledger_commits_total", {"outcome": "applied"}),
        "engine_ticks": metrics.sample("emergence_engine_ticks_total"),
    }
