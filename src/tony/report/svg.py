"""Small inline SVG plots, written by hand: a reliability diagram, bars with intervals, a scatter, lines with bands.

Colours and fonts come from the site's CSS (classes, not inline styles); every label is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tony.report.html import number, text

WIDTH, HEIGHT = 460, 300
LEGEND = 150
"""Width of a scatter plot's legend, right of its axes."""
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 30, 44
PALETTE = 8
"""Scatter groups cycle through CSS classes g0 ... g7."""


@dataclass(frozen=True)
class ReliabilityBin:
    """One confidence bin: instances whose confidence lies in (low, high]."""

    low: float
    high: float
    confidence: float
    """Mean confidence of the bin's instances."""
    accuracy: float
    """Fraction of them that are correct."""
    n: int


@dataclass(frozen=True)
class Bar:
    """One horizontal bar with its 95% interval."""

    label: str
    value: float
    low: float
    high: float
    css: str = ""
    """Extra CSS class, e.g. "base" for the reference bar."""


@dataclass(frozen=True)
class Point:
    """One point of a scatter plot."""

    x: float
    y: float
    label: str
    """Its tooltip."""
    group: str
    """Points of a group share a colour and a legend entry."""


def frame(title: str, height: int, inner: str, width: int = WIDTH) -> str:
    return (f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="{text(title)}">'
            f'<text class="title" x="{WIDTH / 2}" y="18" text-anchor="middle">{text(title)}</text>{inner}</svg>')


def axes(x_label: str, y_label: str, x_ticks: list[tuple[float, str]], y_ticks: list[tuple[float, str]],
          height: int) -> str:
    """Axis lines, ticks (already in pixels) and labels."""
    bottom = height - BOTTOM
    parts = [f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}"/>',
             f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}"/>']
    for x, label in x_ticks:
        parts.append(f'<line class="tick" x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}"/>'
                     f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{text(label)}</text>')
    for y, label in y_ticks:
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{text(label)}</text>')
    parts.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{height - 8}" text-anchor="middle">{text(x_label)}</text>')
    middle = (TOP + bottom) / 2
    parts.append(f'<text x="14" y="{middle}" text-anchor="middle" transform="rotate(-90 14 {middle})">'
                 f"{text(y_label)}</text>")
    return "".join(parts)


def unit_scale(low: float, high: float, pixels_low: float, pixels_high: float):
    span = (high - low) or 1.0
    return lambda v: pixels_low + (v - low) / span * (pixels_high - pixels_low)


def reliability_diagram(bins: Sequence[ReliabilityBin], *, title: str = "Reliability diagram") -> str:
    """Accuracy per confidence bin against the diagonal of perfect calibration; n above each bar."""
    x = unit_scale(0.0, 1.0, LEFT, WIDTH - RIGHT)
    y = unit_scale(0.0, 1.0, HEIGHT - BOTTOM, TOP)
    ticks = [(v, f"{v:g}") for v in (0.0, 0.25, 0.5, 0.75, 1.0)]
    parts = [axes("confidence", "accuracy", [(x(v), s) for v, s in ticks], [(y(v), s) for v, s in ticks], HEIGHT)]
    parts.append(f'<line class="diagonal" x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}"/>')
    for b in bins:
        if b.n == 0:
            continue
        left, right = x(b.low) + 1, x(b.high) - 1
        tip = (f"confidence {b.low:g}-{b.high:g}: accuracy {number(b.accuracy)}, "
               f"mean confidence {number(b.confidence)}, n={b.n}")
        parts.append(f'<rect class="bar" x="{left:.1f}" y="{y(b.accuracy):.1f}" width="{right - left:.1f}" '
                     f'height="{y(0) - y(b.accuracy):.1f}"><title>{text(tip)}</title></rect>')
        parts.append(f'<line class="expected" x1="{left:.1f}" y1="{y(b.confidence):.1f}" x2="{right:.1f}" '
                     f'y2="{y(b.confidence):.1f}"/>')
        above = min(y(b.accuracy), y(b.confidence)) - 3
        parts.append(f'<text class="small" x="{(left + right) / 2:.1f}" y="{above:.1f}" '
                     f'text-anchor="middle">{b.n}</text>')
    return frame(title, HEIGHT, "".join(parts))


def interval_bars(bars: Sequence[Bar], *, title: str, axis_label: str) -> str:
    """Horizontal bars from 0, each with its interval as a whisker; the axis runs to 1 or the largest high."""
    label_width, row = 170, 22
    height = TOP + row * len(bars) + BOTTOM
    top_value = max([1.0, *(b.high for b in bars if math.isfinite(b.high)), *(b.value for b in bars
                                                                            if math.isfinite(b.value))])
    x = unit_scale(0.0, top_value, LEFT + label_width, WIDTH - RIGHT)
    bottom = height - BOTTOM
    parts = [f'<line class="axis" x1="{x(0)}" y1="{TOP}" x2="{x(0)}" y2="{bottom}"/>',
             f'<line class="axis" x1="{x(0)}" y1="{bottom}" x2="{x(top_value)}" y2="{bottom}"/>']
    for tick in (0.0, top_value / 2, top_value):
        parts.append(f'<text x="{x(tick):.1f}" y="{bottom + 16}" text-anchor="middle">{text(f"{tick:.3g}")}</text>')
    parts.append(f'<text x="{x(top_value / 2):.1f}" y="{height - 8}" text-anchor="middle">{text(axis_label)}</text>')
    for i, b in enumerate(bars):
        top = TOP + i * row + 3
        shown = b.label if len(b.label) <= 26 else b.label[:25] + "\u2026"
        tip = f"{b.label}: {number(b.value)} [{number(b.low)}, {number(b.high)}]"
        parts.append(f'<g><title>{text(tip)}</title>'
                     f'<text x="{x(0) - 6}" y="{top + 12}" text-anchor="end">{text(shown)}</text>')
        if math.isfinite(b.value):
            parts.append(f'<rect class="bar {text(b.css)}" x="{x(0)}" y="{top}" width="{x(b.value) - x(0):.1f}" '
                         f'height="{row - 6}"/>')
        if math.isfinite(b.low) and math.isfinite(b.high):
            middle = top + (row - 6) / 2
            parts.append(f'<line class="whisker" x1="{x(b.low):.1f}" y1="{middle}" x2="{x(b.high):.1f}" '
                         f'y2="{middle}"/>')
        parts.append("</g>")
    return frame(title, height, "".join(parts))


def scatter(points: Sequence[Point], *, title: str, x_label: str, y_label: str, log_x: bool = False) -> str:
    """Points coloured by group, with a legend; x on a log scale when asked and every x is positive."""
    shown = [p for p in points if math.isfinite(p.x) and math.isfinite(p.y)]
    log_x = log_x and all(p.x > 0 for p in shown)
    xs = [math.log10(p.x) if log_x else p.x for p in shown]
    low, high = (min(xs), max(xs)) if xs else (0.0, 1.0)
    pad = (high - low) * 0.08 or 0.5
    x = unit_scale(low - pad, high + pad, LEFT, WIDTH - RIGHT)
    y = unit_scale(0.0, max([1.0, *(p.y for p in shown)]), HEIGHT - BOTTOM, TOP)
    x_ticks = [(x(v), f"{10 ** v:.3g}" if log_x else f"{v:.3g}") for v in (low, (low + high) / 2, high)]
    y_ticks = [(y(v), f"{v:g}") for v in (0.0, 0.5, 1.0)]
    parts = [axes(x_label + (" (log scale)" if log_x else ""), y_label, x_ticks, y_ticks, HEIGHT)]
    groups = sorted({p.group for p in shown})
    for p, px in zip(shown, xs, strict=True):
        css = f"g{groups.index(p.group) % PALETTE}"
        parts.append(f'<circle class="dot {css}" cx="{x(px):.1f}" cy="{y(p.y):.1f}" r="4">'
                     f"<title>{text(p.label)}</title></circle>")
    for i, group in enumerate(groups[: (HEIGHT - TOP) // 14]):
        top = TOP + 4 + 14 * i
        parts.append(f'<circle class="dot g{i % PALETTE}" cx="{WIDTH + 4}" cy="{top}" r="4"/>'
                     f'<text class="small" x="{WIDTH + 12}" y="{top + 4}">{text(group[:24])}</text>')
    return frame(title, HEIGHT, "".join(parts), WIDTH + LEGEND)


@dataclass(frozen=True)
class Series:
    """One line of a line plot, optionally with an interval band around it."""

    label: str
    """Its legend entry (and tooltip)."""
    xs: Sequence[float]
    ys: Sequence[float]
    lows: Sequence[float] | None = None
    """Lower ends of the band, one per x (None: no band)."""
    highs: Sequence[float] | None = None


def line_plot(series: Sequence[Series], *, title: str, x_label: str, y_label: str,
              y_max: float | None = None) -> str:
    """Lines (each with its shaded interval band, when given) coloured by series, with a legend.

    The y axis starts at 0 and ends at `y_max` (default: the largest finite value); anything above
    it is drawn at the top edge. Non-finite points break a line.
    """
    def finite(values: Sequence[float] | None) -> list[float]:
        return [v for v in values or () if math.isfinite(v)]

    all_x = [v for s in series for v in finite(s.xs)]
    x_low, x_high = (min(all_x), max(all_x)) if all_x else (0.0, 1.0)
    top = y_max if y_max is not None else max([*(v for s in series for v in finite(s.ys) + finite(s.highs)), 1e-9])
    x = unit_scale(x_low, x_high, LEFT, WIDTH - RIGHT)
    y = unit_scale(0.0, top, HEIGHT - BOTTOM, TOP)

    def point(px: float, py: float) -> str:
        return f"{x(px):.1f},{y(min(max(py, 0.0), top)):.1f}"

    x_ticks = [(x(v), f"{v:.3g}") for v in (x_low, (x_low + x_high) / 2, x_high)]
    y_ticks = [(y(v), f"{v:.3g}") for v in (0.0, top / 2, top)]
    parts = [axes(x_label, y_label, x_ticks, y_ticks, HEIGHT)]
    for i, s in enumerate(series):
        css = f"g{i % PALETTE}"
        parts.append(f"<g><title>{text(s.label)}</title>")
        if s.lows is not None and s.highs is not None:
            for run in _finite_runs(list(zip(s.xs, s.lows, s.highs, strict=True))):
                outline = [point(px, hi) for px, _, hi in run] + [point(px, lo) for px, lo, _ in reversed(run)]
                parts.append(f'<polygon class="band {css}" points="{" ".join(outline)}"/>')
        for run in _finite_runs(list(zip(s.xs, s.ys, strict=True))):
            parts.append(f'<polyline class="line {css}" points="{" ".join(point(px, py) for px, py in run)}"/>')
        parts.append("</g>")
    for i, s in enumerate(series[: (HEIGHT - TOP) // 14]):
        row = TOP + 4 + 14 * i
        parts.append(f'<line class="line g{i % PALETTE}" x1="{WIDTH - 4}" y1="{row}" x2="{WIDTH + 8}" y2="{row}"/>'
                     f'<text class="small" x="{WIDTH + 12}" y="{row + 4}">{text(s.label[:24])}</text>')
    return frame(title, HEIGHT, "".join(parts), WIDTH + LEGEND)


def _finite_runs(rows: list[tuple[float, ...]]) -> list[list[tuple[float, ...]]]:
    """Consecutive rows whose values are all finite."""
    runs: list[list[tuple[float, ...]]] = [[]]
    for row in rows:
        if all(math.isfinite(v) for v in row):
            runs[-1].append(row)
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]
