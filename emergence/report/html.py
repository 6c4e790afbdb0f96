"""Run and comparison reports as one self-contained HTML page each (inline CSS and SVG only)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

from emergence.analysis.history import COMPARISON_METRICS, RunAnalysis, comparison_metrics
from emergence.analysis.stats import Interval, confidence_interval
from emergence.report import svg

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f8fafc;color:#0f172a}
header{background:#0f172a;color:#f8fafc;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#cbd5e1}main{padding:18px 28px;display:grid;gap:18px;
grid-template-columns:repeat(auto-fill,minmax(660px,1fr))}
section{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px 14px}
section h2{font-size:15px;margin:0 0 8px}section.wide{grid-column:1/-1}
table{border-collapse:collapse;width:100%}td,th{padding:3px 8px;border-bottom:1px solid #e2e8f0;text-align:left}
th{color:#475569;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
svg.chart{max-width:100%;height:auto;font-size:11px;fill:#0f172a}svg .grid{stroke:#e2e8f0}
svg .axis{stroke:#64748b}svg .label{fill:#475569}svg .reference{stroke:#94a3b8;stroke-dasharray:4 3}
svg .frame{fill:#f8fafc;stroke:#e2e8f0}svg .inbar{fill:#0f172a;font-size:10px}
.muted{color:#64748b}
"""


def _page(title: str, subtitle: str, sections: Sequence[str]) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header>"
        f"<main>{''.join(sections)}</main></body></html>\n"
    )


def _section(title: str, content: str, *, wide: bool = False) -> str:
    css = ' class="wide"' if wide else ""
    return f"<section{css}><h2>{escape(title)}</h2>{content}</section>"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(str(cell))}</th>" for cell in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{_cell(cell)}</td>'
            if isinstance(cell, int | float)
            else f"<td>{escape(str(cell))}</td>"
            for cell in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: float) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.3f}"
    return f"{value:,}"


def headline_rows(analysis: RunAnalysis) -> list[tuple[str, str]]:
    """The research questions the run can answer, in words."""
    rows = [
        (first.what, f"tick {first.tick}: {first.who} {first.detail}".strip())
        for first in analysis.firsts
    ]
    for missing in ("first trade", "first theft", "first group", "first law"):
        if missing not in {first.what for first in analysis.firsts}:
            rows.append((missing, "never happened"))
    causes = ", ".join(f"{count} {cause}" for cause, count in analysis.deaths_by_cause.items())
    rows.append(("births", str(sum(analysis.births))))
    rows.append(("deaths", f"{sum(analysis.deaths)}" + (f" ({causes})" if causes else "")))
    rows.append(("survival of the founders", f"{analysis.founders_alive} of {analysis.founders}"))
    rows += [
        (
            f"first {discovery.item.replace('_', ' ')}",
            f"tick {discovery.tick}: {discovery.who} ({discovery.method})",
        )
        for discovery in analysis.discoveries
    ]
    return rows


def _charts(analysis: RunAnalysis) -> list[str]:
    ticks = analysis.ticks
    last = analysis.last_tick
    held = analysis.resources_held
    top_resources = sorted(held, key=lambda name: -max(held[name], default=0))[:6]
    spread = analysis.knowledge_spread
    # Items found during the run, not those every founder knew from the start.
    found = [discovery.item for discovery in analysis.discoveries]
    widest = sorted(found, key=lambda item: -max((n for _, n in spread.get(item, [])), default=0))[
        :8
    ]
    spread_lines = {}
    for item in widest:
        # Step function over the whole run: the count holds until the next change.
        values, points, current = [], dict(spread.get(item, [])), 0
        for tick in ticks:
            current = points.get(tick, current)
            values.append(float(current))
        spread_lines[item] = values
    brains = analysis.decisions_by_brain
    return [
        _section("Population", svg.line_chart("population", ticks, {"alive": analysis.alive}, y_label="agents alive")),
        _section(
            "Births and deaths",
            svg.bar_chart("births-deaths", ticks, {"births": analysis.births, "deaths": analysis.deaths}, y_label="per tick range")
            + svg.category_bars("deaths-by-cause", dict(analysis.deaths_by_cause), nothing="no deaths"),
        ),
        _section("Inequality: Gini of wealth over time", svg.line_chart("gini", ticks, {"gini": analysis.gini}, y_label="Gini", y_range=(0.0, 1.0))),
        _section(
            "Inequality now: Lorenz curve of the living",
            svg.line_chart(
                "lorenz",
                [x for x, _ in analysis.lorenz],
                {"wealth share": [y for _, y in analysis.lorenz]},
                x_label="share of agents, poorest first",
                y_label="share of wealth",
                y_range=(0.0, 1.0),
                diagonal=True,
            ),
        ),
        _section("Resources held by agents", svg.line_chart("resources", ticks, {name: held[name] for name in top_resources}, y_label="units")),
        _section(
            "Trade volume",
            svg.bar_chart("trades", ticks, {"trades": analysis.trades, "units exchanged": analysis.trade_units}, y_label="per tick range"),
        ),
        _section(
            "Discoveries: first of each item",
            svg.timeline("discoveries", [(d.item.replace("_", " "), d.tick, f"{d.who} by {d.method}") for d in analysis.discoveries], last),
        ),
        _section("Discoveries: spread (living agents who know it)", svg.line_chart("knowledge-spread", ticks, spread_lines, y_label="knowers")),
        _section(
            "Social graph at the end (mutual trust ≥ 0.3)",
            svg.graph("social-graph", analysis.graph.nodes, analysis.graph.edges)
            + f'<p class="muted">{len(analysis.graph.nodes)} agents, {len(analysis.graph.edges)} bonds of trust</p>',
        ),
        _section(
            "Social constructs",
            svg.gantt(
                "constructs",
                [(c.name, c.formed_tick, c.disbanded_tick if c.disbanded_tick is not None else last, c.category) for c in analysis.constructs],
                last,
            ),
        ),
        _section(
            "Decisions by brain",
            svg.category_bars("decisions-by-brain", {b.brain: float(b.decisions) for b in brains})
            + _table(
                ("brain", "decisions", "mean latency ms", "p95 latency ms", "tokens in", "tokens out", "cost USD"),
                [(b.brain, b.decisions, round(b.mean_latency_ms, 3), round(b.p95_latency_ms, 3), b.tokens_in, b.tokens_out, round(b.cost_usd, 4)) for b in brains],
            ),
        ),
    ]  # fmt: skip


def render_run_report(analysis: RunAnalysis) -> str:
    subtitle = (
        f"run {analysis.run_id} · seed {analysis.seed} · {analysis.brain} brain · "
        f"{analysis.last_tick} ticks · {analysis.status}"
        + (f" ({analysis.end_reason})" if analysis.end_reason != "unspecified" else "")
    )
    if analysis.parent_run_id:
        subtitle += f" · forked from {analysis.parent_run_id} at tick {analysis.forked_at_tick}"
    sections = [
        _section(
            "Headline answers", _table(("question", "answer"), headline_rows(analysis)), wide=True
        )
    ]
    if analysis.world_events:
        rows = [(event.what, event.tick, event.detail) for event in analysis.world_events]
        sections.append(
            _section("Injected world events", _table(("event", "tick", "where"), rows), wide=True)
        )
    return _page("Emergence run report", subtitle, sections + _charts(analysis))


def short_number(value: float) -> str:
    """Three significant digits, without an exponent for the counts a run reaches."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def interval_text(interval: Interval) -> str:
    if interval.count == 0 or not math.isfinite(interval.mean):
        return "–"
    if interval.count < 2:
        return short_number(interval.mean)
    low, high = short_number(interval.low), short_number(interval.high)
    return f"{short_number(interval.mean)} [{low}, {high}]"


def metric_names(analyses: Sequence[RunAnalysis]) -> list[str]:
    causes = sorted(
        {f"deaths.{cause.replace(' ', '_')}" for a in analyses for cause in a.deaths_by_cause}
    )
    return list(COMPARISON_METRICS) + causes


def render_comparison_report(groups: Mapping[str, Sequence[RunAnalysis]]) -> str:
    """Arms (e.g. personality mixes) side by side: mean and 95 % CI across each arm's runs."""
    everything = [analysis for analyses in groups.values() for analysis in analyses]
    names = metric_names(everything)
    values = {
        arm: [comparison_metrics(analysis) for analysis in analyses]
        for arm, analyses in groups.items()
    }
    rows = [
        [name]
        + [
            interval_text(confidence_interval([m.get(name, 0.0) for m in values[arm]]))
            for arm in groups
        ]
        for name in names
    ]
    header = ["metric"] + [f"{arm} (n={len(runs)})" for arm, runs in groups.items()]
    runs_table = _table(
        ("arm", "run", "seed", "ticks", "alive at end"),
        [
            (arm, a.run_id, a.seed, a.last_tick, a.alive[-1] if a.alive else 0)
            for arm, analyses in groups.items()
            for a in analyses
        ],
    )
    population = {}
    for arm, analyses in groups.items():
        for analysis in analyses:
            population[f"{arm} · seed {analysis.seed}"] = analysis
    longest = max(everything, key=lambda a: len(a.ticks)).ticks if everything else []
    lines = {
        label: [float(v) for v in a.alive] + [math.nan] * (len(longest) - len(a.alive))
        for label, a in list(population.items())[:12]
    }
    gini = {
        label: list(a.gini) + [math.nan] * (len(longest) - len(a.gini))
        for label, a in list(population.items())[:12]
    }
    sections = [
        _section(
            "Metrics: mean [95 % confidence interval] across runs",
            _table(header, rows),
            wide=True,
        ),
        _section("Runs", runs_table, wide=True),
        _section("Population", svg.line_chart("population", longest, lines, y_label="alive")),
        _section(
            "Gini of wealth",
            svg.line_chart("gini", longest, gini, y_label="Gini", y_range=(0.0, 1.0)),
        ),
    ]
    subtitle = " vs ".join(
        f"{arm} ({len(runs)} run{'' if len(runs) == 1 else 's'})" for arm, runs in groups.items()
    )
    return _page("Emergence comparison report", subtitle, sections)
