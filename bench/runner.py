"""`emergence bench NAME`: runs one benchmark (or all), prints figures, updates docs/benchmarks.md."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

from bench.report import table, write_section

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.asynccontextmanager
async def scratch_database() -> AsyncIterator[str | None]:
    """A throw-away PostgreSQL database, or None when PostgreSQL is not reachable."""
    import asyncpg

    admin_url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    name = f"emergence_bench_{uuid.uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect(admin_url, timeout=3)
    except (OSError, asyncpg.PostgresError):
        yield None
        return
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def bench_tick(arguments: argparse.Namespace) -> dict[str, Any]:
    from bench.tick import render, run_tick_bench

    figures = run_tick_bench()
    if not arguments.no_write:
        write_section("tick", render(figures))
    return figures


async def bench_snapshot(arguments: argparse.Namespace) -> dict[str, Any]:
    from bench.snapshot import render, run_snapshot_bench

    figures = run_snapshot_bench()
    if not arguments.no_write:
        write_section("snapshot", render(figures))
    return figures


async def bench_ledger(arguments: argparse.Namespace) -> dict[str, Any]:
    from bench.ledger import render, run_ledger_bench

    async with scratch_database() as dsn:
        figures = await run_ledger_bench(dsn)
    if not arguments.no_write:
        write_section("ledger", render(figures))
    return figures


async def bench_persist(arguments: argparse.Namespace) -> dict[str, Any]:
    from bench.persist import render, run_persist_bench

    async with scratch_database() as dsn:
        figures = await run_persist_bench(dsn)
    if not arguments.no_write:
        write_section("persist", render(figures))
    return figures


async def bench_emergence(arguments: argparse.Namespace) -> dict[str, Any]:
    from bench.emergence import TARGETS, count_society
    from bench.society import run_society

    summary, store_url = await run_society(arguments)
    counts = await count_society(store_url, summary.run_id)
    figures: dict[str, Any] = {"run": summary.as_dict(), "counts": counts}
    if not arguments.no_write:
        rows = [
            [
                key,
                counts.get(key, 0),
                f"≥ {TARGETS[key]}" if key in TARGETS else "–",
                ("yes" if counts.get(key, 0) >= TARGETS[key] else "**no**")
                if key in TARGETS
                else "",
            ]
            for key in counts
        ]
        title = (
            f"`emergence bench emergence --agents {arguments.agents} --ticks {arguments.ticks} "
            f"--seed {arguments.seed} --brain {arguments.brain}`: run {summary.run_id}, "
            f"{summary.ticks} ticks in {summary.wall_seconds:.0f} s, history hash `{summary.history_hash[:16]}…`"
        )
        write_section(
            f"emergence-{arguments.brain}",
            title + "\n\n" + table(["count", "value", "target", "met"], rows),
        )
    return figures


async def bench_society(arguments: argparse.Namespace) -> dict[str, Any]:
    from bench.society_metrics import (
        render,
        render_side_by_side,
        run_society_bench,
        section_slug,
    )

    figures = await run_society_bench(arguments)
    if not arguments.no_write:
        label = getattr(arguments, "label", None) or ""
        slug = section_slug(label)
        name = f"society-{arguments.brain}" + (f"-{slug}" if slug else "")
        markdown = (
            render_side_by_side(arguments, figures)
            if "columns" in figures
            else render(arguments, figures)
        )
        write_section(name, markdown)
    return figures


async def bench_batch(arguments: argparse.Namespace) -> dict[str, Any]:
    from bench.batch import render, run_batch_bench

    async with scratch_database() as dsn:
        figures = await run_batch_bench(arguments, dsn)
    if not arguments.no_write:
        write_section("batch", render(figures))
    return figures


HYBRID_SCENARIOS = (
    ("clean replies", 0.0, 0.0, False),
    ("20 % malformed, 10 % 429", 0.2, 0.1, False),
    ("model endpoint down", 0.0, 0.0, True),
)


async def bench_hybrid(arguments: argparse.Namespace) -> dict[str, Any]:
    """The hybrid brain against `emergence stub-llm` (its own process on loopback): clean replies,
    then malformed replies and rate limits. Figures come from the stored decisions."""
    from bench.society import (
        ASSUMED_PRICES,
        StubOptions,
        decision_figures,
        run_society,
        stored_decisions,
    )

    hybrid = argparse.Namespace(**{**vars(arguments), "brain": "hybrid"})
    results: dict[str, Any] = {}
    for label, malformed, rate_limited, down in HYBRID_SCENARIOS:
        options = StubOptions(
            latency_ms=5.0,
            malformed_rate=malformed,
            rate_limit_rate=rate_limited,
            seed=arguments.seed,
            down=down,
        )
        summary, store_url = await run_society(hybrid, options=options)
        figures = decision_figures(await stored_decisions(store_url, summary.run_id))
        figures["run"] = summary.as_dict()
        results[label] = figures
    if not arguments.no_write:
        write_section("hybrid", render_hybrid(arguments, results, ASSUMED_PRICES))
    return results


def render_hybrid(
    arguments: argparse.Namespace,
    results: dict[str, Any],
    prices: dict[str, tuple[float, float]],
) -> str:
    labels = list(results)

    def row(name: str, value: Any) -> list[object]:
        return [name, *(value(results[label]) for label in labels)]

    def brains(figures: dict[str, Any]) -> str:
        return ", ".join(f"{name} {count}" for name, count in figures["by_brain"].items())

    def routes(figures: dict[str, Any]) -> str:
        return ", ".join(f"{name} {count}" for name, count in figures["by_route"].items())

    def reasons(figures: dict[str, Any]) -> str:
        found = figures["fallback_reasons"]
        return ", ".join(f"{name} {count}" for name, count in sorted(found.items())) or "–"

    def gaps(figures: dict[str, Any]) -> int:
        return int(
            figures["records_without_brain"]
            + figures["records_without_latency"]
            + figures["model_records_without_model"]
            + figures["answered_without_tokens_out"]
        )

    rows = [
        row("decisions stored", lambda f: f["decisions"]),
        row("by brain", brains),
        row("by route", routes),
        row("model-routed / answered by the model", lambda f: f"{f['model_routed']} / {f['model_answered']}"),
        row("timeouts", lambda f: f"{f['timeouts']} ({f['timeout_pct']} %)"),
        row("fallbacks to the heuristic", lambda f: f["fallbacks"]),
        row("fallback reasons", reasons),
        row("circuit breaker opens / decisions short-circuited", lambda f: f"{f['circuit_opens']} / {f['circuit_open_fallbacks']}"),
        row("repaired replies", lambda f: f["repaired"]),
        row("safety overrides", lambda f: f["overrides"]),
        row("LLM latency mean / p95 (ms)", lambda f: f"{f['llm_latency_mean_ms']} / {f['llm_latency_p95_ms']}"),
        row("tokens in / out", lambda f: f"{f['tokens_in']:,} / {f['tokens_out']:,}"),
        row("estimated cost (USD)", lambda f: f"{f['cost_usd']:.4f}"),
        row("records missing brain, route, latency, model or tokens", gaps),
        row("alive at end / births / deaths", lambda f: f"{f['run']['alive']} / {f['run']['births']} / {f['run']['deaths']}"),
        row("wall time (s) / ticks per s", lambda f: f"{f['run']['wall_seconds']:.1f} / {f['run']['ticks_per_second']}"),
    ]  # fmt: skip
    price_words = "; ".join(
        f"{name} {inp} / {out} USD per million tokens in / out"
        for name, (inp, out) in prices.items()
    )
    title = (
        f"`emergence bench hybrid --agents {arguments.agents} --ticks {arguments.ticks} "
        f"--seed {arguments.seed}`: embedded run with the hybrid brain; `emergence stub-llm` as its "
        "own process on loopback (5 ms latency) answers both backends (`default` = stub-small, "
        "`escalation` = stub-large); in the last column nothing listens: both backends point at "
        "a loopback port that refuses connections. Counts are read back from the stored decisions."
    )
    notes = (
        "LLM latency is per model-routed decision (prompt rendering, HTTP, retries, parsing). "
        f"Cost uses assumed prices ({price_words}); the stub counts tokens as characters / 4. "
        "Rule and night-skip decisions call no model; a fallback is a model-routed decision the "
        "heuristic answered because the call failed (429s past the retries) or the reply was "
        "unusable; a repaired reply was parsed after fixing (fences, cut-off JSON, quotes). "
        "A backend's circuit breaker opens after 5 consecutive failed calls (connection errors, "
        "timeouts, 429/5xx past the retries); for the next 30 s its decisions go straight to the "
        'heuristic with no call ("circuit open"), then one probe call decides whether it closes. '
        "Only the stub is sent the `<perception-json>` block (`include_perception_json: true`); "
        "a real model gets the readable prompt alone."
    )
    return title + "\n\n" + table(["", *labels], rows) + "\n\n" + notes


async def bench_stream(arguments: argparse.Namespace) -> dict[str, Any]:
    from bench.stream import render, run_stream_bench

    figures = await run_stream_bench()
    if not arguments.no_write:
        write_section("stream", render(figures))
    return figures


async def bench_live(arguments: argparse.Namespace) -> dict[str, Any]:
    from bench.live import render, run_live_bench

    figures = await run_live_bench(arguments)
    if not arguments.no_write:
        write_section("live", render(figures))
    return figures


async def bench_mesh(arguments: argparse.Namespace) -> dict[str, Any]:
    from bench.throughput import (
        OVERLAP_SECTION,
        render,
        render_overlap,
        run_overlap_comparison,
        run_throughput_bench,
    )

    if arguments.overlap:
        figures = await run_overlap_comparison(arguments.seed)
        if not arguments.no_write:
            write_section(OVERLAP_SECTION, render_overlap(figures))
        return figures
    figures = await run_throughput_bench(arguments.seed)
    if not arguments.no_write:
        label = arguments.label
        write_section(f"mesh-{label}" if label else "mesh", render(figures))
    return figures


async def bench_perception(arguments: argparse.Namespace) -> dict[str, Any]:
    from bench.perception import render, run_perception_bench

    figures = run_perception_bench(arguments.seed)
    if not arguments.no_write:
        write_section("perception", render(figures))
    return figures


BENCHES = {
    "tick": bench_tick,
    "perception": bench_perception,
    "batch": bench_batch,
    "ledger": bench_ledger,
    "persist": bench_persist,
    "emergence": bench_emergence,
    "society": bench_society,
    "hybrid": bench_hybrid,
    "snapshot": bench_snapshot,
    "stream": bench_stream,
    "live": bench_live,
    "mesh": bench_mesh,
}


async def run_benchmarks(arguments: argparse.Namespace) -> int:
    # `all` runs every benchmark once; the many-seed society benchmark is asked for by name.
    everything = [name for name in BENCHES if name != "society"]
    names = everything if arguments.which == "all" else [arguments.which]
    results: dict[str, Any] = {}
    for name in names:
        results[name] = await BENCHES[name](arguments)
        if not arguments.json:
            print(f"== {name}")
            print(json.dumps(results[name], indent=2, sort_keys=True, default=str))
    if arguments.json:
        print(
            json.dumps(
                results if len(names) > 1 else results[names[0]], sort_keys=True, default=str
            )
        )
    return 0
