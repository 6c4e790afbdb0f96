"""Run reports: one self-contained HTML file per run, and comparison reports across runs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from emergence.analysis.history import RunAnalysis, analyze
from emergence.analysis.load import analyze_stored_run, load_history
from emergence.report.html import render_comparison_report, render_run_report
from engine.adapters.event_store import EventStore

__all__ = [
    "render_comparison_report",
    "render_run_report",
    "render_stored_run",
    "write_comparison_report",
    "write_run_report",
    "write_stored_comparison_report",
    "write_stored_run_report",
]


async def render_stored_run(store: EventStore, run_id: str) -> str:
    """The report page of a run in an open store."""
    return render_run_report(analyze(await load_history(store, run_id)))


async def write_stored_run_report(store: EventStore, run_id: str, folder: Path) -> tuple[str, Path]:
    """Render a run of an open store and write it as `folder/RUN_ID.html`; the page and path."""
    html = await render_stored_run(store, run_id)
    path = (folder / f"{run_id}.html").resolve()
    await asyncio.to_thread(_write, path, html)
    return html, path


async def write_run_report(store_url: str, run_id: str, path: Path) -> RunAnalysis:
    """Analyse a stored run and write its report to `path`; returns the analysis."""
    analysis = await analyze_stored_run(store_url, run_id)
    await asyncio.to_thread(_write, path, render_run_report(analysis))
    return analysis


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def write_comparison_report(groups: dict[str, list[RunAnalysis]], path: Path) -> None:
    _write(path, render_comparison_report(groups))


async def write_stored_comparison_report(
    arms: dict[str, list[tuple[str, str]]], path: Path
) -> None:
    """A comparison report of stored runs: `arms` maps an arm's label to its (store URL, run id)
    pairs; each arm's metrics are averaged with a 95 % interval across its runs."""
    groups = {
        label: [await analyze_stored_run(store, run_id) for store, run_id in runs]
        for label, runs in arms.items()
    }
    await asyncio.to_thread(write_comparison_report, groups, path)
