"""Inline SVG charts for reports: lines, bars, a timeline, a Gantt strip and a graph; no scripts.

Each function returns one `<svg>` element as text. Every text that comes from a run (names,
items) is escaped here, so a hostile group name cannot break out of the page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

WIDTH = 640
HEIGHT = 240
MARGIN_LEFT = 52
MARGIN_RIGHT = 16
MARGIN_TOP = 32  # a legend row, then the y label
MARGIN_BOTTOM = 30
# Most lines a chart draws; longer series are thinned to about this many points.
MAX_POINTS = 400
PALETTE = (
    "#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2",
    "#db2777", "#65a30d", "#475569", "#ea580c", "#0d9488", "#9333ea",
)  # fmt: skip


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.2f}"


def nice_ticks(low: float, high: float, count: int = 5, *, whole: bool = False) -> list[float]:
    """Round axis marks covering low..high (about `count` of them); `whole`: counts, so no
    mark between two integers."""
    if not math.isfinite(low) or not math.isfinite(high) or high <= low:
        return [low] if math.isfinite(low) else [0.0]
    raw = (high - low) / max(count - 1, 1)
    if whole:
        raw = max(raw, 1.0)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    marks = []
    value = first
    while value <= high + step * 1e-9:
        marks.append(round(value, 10))
        value += step
    return marks


def thin(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
    stride = max(1, math.ceil(len(xs) / MAX_POINTS))
    indexes = list(range(0, len(xs), stride))
    if indexes and indexes[-1] != len(xs) - 1:
        indexes.append(len(xs) - 1)
    return [xs[i] for i in indexes], [ys[i] for i in indexes]


class Frame:
    """Maps data to pixels inside the margins and draws the axes."""

    def __init__(
        self,
        x_range: tuple[float, float],
        y_range: tuple[float, float],
        height: int = HEIGHT,
        *,
        whole: bool = False,
    ) -> None:
        self.height = height
        x_low, x_high = x_range
        y_low, y_high = y_range
        self.y_marks = nice_ticks(y_low, y_high, whole=whole)
        self.y_low = min(y_low, self.y_marks[0])
        self.y_high = max(y_high, self.y_marks[-1])
        if self.y_high <= self.y_low:
            self.y_high = self.y_low + 1
        self.x_low, self.x_high = x_low, x_high if x_high > x_low else x_low + 1

    def x(self, value: float) -> float:
        span = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
        return MARGIN_LEFT + (value - self.x_low) / (self.x_high - self.x_low) * span

    def y(self, value: float) -> float:
        span = self.height - MARGIN_TOP - MARGIN_BOTTOM
        return (
            self.height - MARGIN_BOTTOM - (value - self.y_low) / (self.y_high - self.y_low) * span
        )

    def axes(self, x_label: str, y_label: str) -> list[str]:
        parts = []
        for mark in self.y_marks:
            y = self.y(mark)
            parts.append(
                f'<line x1="{MARGIN_LEFT}" y1="{y:.1f}" x2="{WIDTH - MARGIN_RIGHT}" y2="{y:.1f}" class="grid"/>'
                f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(mark)}</text>'
            )
        for mark in nice_ticks(self.x_low, self.x_high, 7):
            if self.x_low <= mark <= self.x_high:
                x = self.x(mark)
                parts.append(
                    f'<text x="{x:.1f}" y="{self.height - MARGIN_BOTTOM + 14}" text-anchor="middle">{_number(mark)}</text>'
                )
        bottom = self.height - MARGIN_BOTTOM
        parts.append(
            f'<line x1="{MARGIN_LEFT}" y1="{bottom}" x2="{WIDTH - MARGIN_RIGHT}" y2="{bottom}" class="axis"/>'
            f'<text x="{WIDTH - MARGIN_RIGHT}" y="{self.height - 4}" text-anchor="end" class="label">{escape(x_label)}</text>'
            f'<text x="4" y="{MARGIN_TOP - 8}" class="label">{escape(y_label)}</text>'
        )
        return parts


def svg(name: str, body: Sequence[str], height: int = HEIGHT, title: str = "") -> str:
    label = escape(title or name)
    return (
        f'<svg class="chart" data-chart="{escape(name)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{label}" '
        f'xmlns="http://www.w3.org/2000/svg">' + "".join(body) + "</svg>"
    )


def empty(name: str, message: str) -> str:
    """A chart with nothing to draw still says so, in its own box."""
    return svg(
        name,
        [
            f'<rect x="1" y="1" width="{WIDTH - 2}" height="78" class="frame"/>',
            f'<text x="{WIDTH / 2}" y="44" text-anchor="middle" class="label">{escape(message)}</text>',
        ],
        height=80,
    )


def legend(names: Sequence[str]) -> list[str]:
    parts = []
    x = MARGIN_LEFT + 6
    for index, name in enumerate(names):
        parts.append(
            f'<rect x="{x}" y="4" width="10" height="10" fill="{colour(index)}"/>'
            f'<text x="{x + 14}" y="13">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    return parts


def line_chart(
    name: str,
    xs: Sequence[float],
    series: Mapping[str, Sequence[float]],
    *,
    x_label: str = "tick",
    y_label: str = "",
    y_range: tuple[float, float] | None = None,
    diagonal: bool = False,
) -> str:
    if not xs or not series or all(not values for values in series.values()):
        return empty(name, "no data")
    values = [v for ys in series.values() for v in ys if math.isfinite(v)]
    low, high = y_range or (min(0.0, min(values, default=0.0)), max(values, default=1.0))
    frame = Frame((min(xs), max(xs)), (low, high))
    body = frame.axes(x_label, y_label)
    if diagonal:
        body.append(
            f'<line x1="{frame.x(frame.x_low):.1f}" y1="{frame.y(frame.y_low):.1f}" '
            f'x2="{frame.x(frame.x_high):.1f}" y2="{frame.y(frame.y_high):.1f}" class="reference"/>'
        )
    for index, (label, ys) in enumerate(series.items()):
        thin_x, thin_y = thin(xs, ys)
        points = " ".join(
            f"{frame.x(x):.1f},{frame.y(y):.1f}"
            for x, y in zip(thin_x, thin_y, strict=False)
            if math.isfinite(y)
        )
        body.append(
            f'<polyline points="{points}" fill="none" stroke="{colour(index)}" stroke-width="1.8">'
            f"<title>{escape(label)}</title></polyline>"
        )
    if len(series) > 1:
        body += legend(list(series))
    return svg(name, body)


def bucket(
    xs: Sequence[int], ys: Sequence[float], buckets: int = 50
) -> tuple[list[int], list[float]]:
    """Sums of ys over about `buckets` equal tick ranges, labelled by their first tick."""
    if not xs:
        return [], []
    width = max(1, math.ceil((max(xs) - min(xs) + 1) / buckets))
    sums: dict[int, float] = {}
    for x, y in zip(xs, ys, strict=False):
        start = min(xs) + (x - min(xs)) // width * width
        sums[start] = sums.get(start, 0.0) + y
    starts = sorted(sums)
    return starts, [sums[start] for start in starts]


def bar_chart(
    name: str,
    xs: Sequence[int],
    series: Mapping[str, Sequence[float]],
    *,
    x_label: str = "tick",
    y_label: str = "",
) -> str:
    """Grouped bars per tick bucket (one colour per series)."""
    if not xs or not series:
        return empty(name, "no data")
    grouped = {label: bucket(xs, ys) for label, ys in series.items()}
    starts = next(iter(grouped.values()))[0]
    high = max((max(sums, default=0.0) for _, sums in grouped.values()), default=0.0)
    step = starts[1] - starts[0] if len(starts) > 1 else 1
    frame = Frame((starts[0], starts[-1] + step), (0.0, max(high, 1.0)), whole=True)
    body = frame.axes(x_label, y_label)
    slot = (frame.x(starts[0] + step) - frame.x(starts[0])) * 0.8
    width = max(slot / len(grouped), 0.8)
    for index, (label, (bucket_starts, sums)) in enumerate(grouped.items()):
        for start, total in zip(bucket_starts, sums, strict=False):
            if total <= 0:
                continue
            x = frame.x(start) + index * width
            top = frame.y(total)
            body.append(
                f'<rect x="{x:.1f}" y="{top:.1f}" width="{width:.1f}" '
                f'height="{frame.y(0) - top:.1f}" fill="{colour(index)}">'
                f"<title>{escape(label)} {_number(total)} from tick {start}</title></rect>"
            )
    if len(series) > 1:
        body += legend(list(series))
    return svg(name, body)


def category_bars(
    name: str, values: dict[str, float], *, unit: str = "", nothing: str = "none"
) -> str:
    """Horizontal bars, one per category, longest first."""
    if not values:
        return empty(name, nothing)
    rows = sorted(values.items(), key=lambda item: -item[1])[:16]
    height = 8 + 22 * len(rows) + 10
    high = max(value for _, value in rows) or 1.0
    label_width = 150
    span = WIDTH - label_width - 80
    body = []
    for index, (label, value) in enumerate(rows):
        y = 8 + index * 22
        length = max(value / high * span, 1.0)
        body.append(
            f'<text x="{label_width - 6}" y="{y + 14}" text-anchor="end">{escape(label[:24])}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="14" fill="{colour(index)}"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 14}">{_number(value)}{escape(unit)}</text>'
        )
    return svg(name, body, height=height)


def timeline(name: str, items: Sequence[tuple[str, int, str]], last_tick: int) -> str:
    """One row per (label, tick, note), a dot at its tick on a shared axis."""
    if not items:
        return empty(name, "nothing yet")
    rows = items[:40]
    height = 8 + 16 * len(rows) + MARGIN_BOTTOM
    frame = Frame((0, max(last_tick, 1)), (0.0, 1.0), height=height)
    body = [
        f'<line x1="{MARGIN_LEFT}" y1="{height - MARGIN_BOTTOM}" x2="{WIDTH - MARGIN_RIGHT}" '
        f'y2="{height - MARGIN_BOTTOM}" class="axis"/>'
    ]
    for mark in nice_ticks(0, max(last_tick, 1), 7):
        body.append(
            f'<text x="{frame.x(mark):.1f}" y="{height - MARGIN_BOTTOM + 14}" text-anchor="middle">{_number(mark)}</text>'
        )
    for index, (label, tick, note) in enumerate(rows):
        y = 8 + index * 16 + 8
        x = frame.x(tick)
        anchor = "end" if x > WIDTH * 0.6 else "start"
        offset = -7 if anchor == "end" else 7
        body.append(
            f'<line x1="{MARGIN_LEFT}" y1="{y}" x2="{x:.1f}" y2="{y}" class="grid"/>'
            f'<circle cx="{x:.1f}" cy="{y}" r="4" fill="{colour(index)}"><title>{escape(note)}</title></circle>'
            f'<text x="{x + offset:.1f}" y="{y + 4}" text-anchor="{anchor}">{escape(label[:40])} · {tick}</text>'
        )
    return svg(name, body, height=height)


def gantt(name: str, rows: Sequence[tuple[str, int, int, str]], last_tick: int) -> str:
    """(label, start, end, group) bars on a tick axis; colour by group."""
    if not rows:
        return empty(name, "none formed")
    shown = rows[:40]
    top = 22  # below the legend row
    height = top + 16 * len(shown) + MARGIN_BOTTOM
    frame = Frame((0, max(last_tick, 1)), (0.0, 1.0), height=height)
    groups = sorted({group for *_, group in shown})
    body = [
        f'<line x1="{MARGIN_LEFT}" y1="{height - MARGIN_BOTTOM}" x2="{WIDTH - MARGIN_RIGHT}" '
        f'y2="{height - MARGIN_BOTTOM}" class="axis"/>'
    ]
    for mark in nice_ticks(0, max(last_tick, 1), 7):
        body.append(
            f'<text x="{frame.x(mark):.1f}" y="{height - MARGIN_BOTTOM + 14}" text-anchor="middle">{_number(mark)}</text>'
        )
    for index, (label, start, end, group) in enumerate(shown):
        y = top + index * 16
        left, right = frame.x(start), frame.x(max(end, start + 1))
        # A bar that starts late has its label on its left, where there is room.
        late = left > WIDTH * 0.55
        text_x, anchor = (left - 4, "end") if late else (left + 4, "start")
        body.append(
            f'<rect x="{left:.1f}" y="{y + 2}" width="{max(right - left, 2):.1f}" height="11" '
            f'fill="{colour(groups.index(group))}" opacity="0.8"><title>{escape(group)}: {escape(label)} '
            f"{start}–{end}</title></rect>"
            f'<text x="{text_x:.1f}" y="{y + 11}" text-anchor="{anchor}" class="inbar">{escape(label[:60])}</text>'
        )
    return svg(name, body + legend(groups), height=height)


def graph(
    name: str, nodes: Sequence[tuple[str, str, bool]], edges: Sequence[tuple[str, str, float]]
) -> str:
    """Agents on a circle (id order, so the same run draws the same picture), trust as edges."""
    if not nodes:
        return empty(name, "no agents")
    size = 520
    centre = size / 2
    radius = size / 2 - 70
    position = {}
    for index, (agent_id, _, _) in enumerate(nodes):
        angle = 2 * math.pi * index / len(nodes) - math.pi / 2
        position[agent_id] = (centre + radius * math.cos(angle), centre + radius * math.sin(angle))
    body = []
    for first, second, trust in edges:
        if first in position and second in position:
            (x1, y1), (x2, y2) = position[first], position[second]
            body.append(
                f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                f'stroke="#2563eb" stroke-opacity="{0.25 + 0.6 * trust:.2f}" '
                f'stroke-width="{0.5 + 2.5 * trust:.1f}"/>'
            )
    for agent_id, label, alive in nodes:
        x, y = position[agent_id]
        fill = "#16a34a" if alive else "#94a3b8"
        anchor = "start" if x >= centre else "end"
        dx = 8 if x >= centre else -8
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{fill}"><title>{escape(label)}</title></circle>'
            f'<text x="{x + dx:.1f}" y="{y + 4:.1f}" text-anchor="{anchor}">{escape(label[:18])}</text>'
        )
    return (
        f'<svg class="chart" data-chart="{escape(name)}" viewBox="0 0 {size} {size}" width="{size}" '
        f'height="{size}" role="img" aria-label="{escape(name)}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(body)
        + "</svg>"
    )
