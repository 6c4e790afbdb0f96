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


BENCHES = {
    "tick": bench_tick,
    "ledger": bench_ledger,
    "persist": bench_persist,
    "emergence": bench_emergence,
}


async def run_benchmarks(arguments: argparse.Namespace) -> int:
    names = list(BENCHES) if arguments.which == "all" else [arguments.which]
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
