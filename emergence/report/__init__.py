"""Run reports: one self-contained HTML file per run, and comparison reports across runs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from emergence.analysis.history import RunAnalysis
from emergence.analysis.load import analyze_stored_run
from emergence.report.html import render_comparison_report, render_run_report

__all__ = [
    "render_comparison_report",
    "render_run_report",
    "write_comparison_report",
    "write_run_report",
]


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
