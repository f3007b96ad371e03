"""The dataset-replication pages of the results site (registered as report source "annotations-replication").

One page, annotations/replication.html: per stored study, original against replicated accuracy, one
point per model, raw and bias-corrected (naive, jackknife, parametric), each series with its
least-squares line and the diagonal y = x (no gap); then a table of every model's gaps with intervals.
Reads only the store's runs and stats.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from tony.core.store import Store
from tony.report.html import number, stat_cell, table, text
from tony.report.pages import Page
from tony.report.svg import BOTTOM, HEIGHT, LEFT, LEGEND, PALETTE, RIGHT, TOP, WIDTH, axes, frame, unit_scale

KIND = "annotations-replication"
PATH = "annotations/replication.html"
SERIES = (("accuracy_replicated", "raw"), ("corrected_naive", "naive"), ("corrected_jackknife", "jackknife"),
          ("corrected_parametric", "parametric"))
"""(stat, legend label): the y of each series; x is always the original accuracy."""
GAPS = ("gap_raw", "gap_naive", "gap_jackknife", "gap_parametric")


def pages(store: Store) -> Iterator[Page]:
    """The replication page, when the store holds complete replication studies."""
    runs = store.runs("complete", kind=KIND)
    if not runs:
        return
    rows_by_run = store.stats_by_run(r["run_id"] for r in runs)
    sections = [_section(run, rows_by_run[run["run_id"]]) for run in runs]
    body = ("<h1>Bias in dataset replication</h1>"
            "<p>Each point is a model: its accuracy on the original test set (x) against its accuracy on the "
            "replicated one (y), raw and corrected for the bias of matching on noisy selection frequencies "
            "(the corrected value is the replicated set's accuracy re-weighted to the original set's true "
            "frequencies). Lines are least-squares fits over the models; on the diagonal the two sets agree. "
            f"Intervals are 95% bootstrap intervals over images.</p>{''.join(sections)}")
    yield Page(PATH, "Dataset replication", body,
               summary=f"original against replicated accuracy, raw and bias-corrected: {len(runs)} studies")


def _section(run: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    by_model: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        if row["split"]:
            by_model.setdefault(row["split"], {})[row["name"]] = row
    spec = run["spec"]
    heading = (f"{run['labels'].get('data', '')}: {len(by_model)} models, thinned to {spec['annotators']} "
               f"annotators, jackknife deletes {spec['delete']} ({run['run_id'][:12]})")
    series = {label: [(stats["accuracy_original"]["value"], stats[name]["value"], model)
                      for model, stats in by_model.items()] for name, label in SERIES}
    plot = accuracy_plot(series, title="original against replicated accuracy")
    cells = [[text(model), *(stat_cell(s[name]["value"], s[name]["ci_low"], s[name]["ci_high"], n=s[name]["n"])
                             for name in ("accuracy_original", "accuracy_replicated", *GAPS))]
             for model, s in by_model.items()]
    frequencies = ", ".join(f"{r['subgroup']} {number(r['value'])} [{number(r['ci_low'])}, {number(r['ci_high'])}]"
                            for r in rows if r["name"] == "mean_frequency")
    return (f"<h2>{text(heading)}</h2><div class=\"plots\">{plot}</div>"
            f"<p>Mean selection frequency of the fitted mixtures: {text(frequencies)}.</p>"
            + table(["model", "original acc", "replicated acc", "raw gap", "naive gap", "jackknife gap",
                     "parametric gap"], cells))


def fit_line(points: Sequence[tuple[float, float, str]]) -> tuple[float, float] | None:
    """Least-squares (intercept, slope) of y on x; None with fewer than two distinct x."""
    xs = np.array([p[0] for p in points if math.isfinite(p[0]) and math.isfinite(p[1])])
    ys = np.array([p[1] for p in points if math.isfinite(p[0]) and math.isfinite(p[1])])
    if len(xs) < 2 or np.ptp(xs) == 0:
        return None
    slope, intercept = np.polyfit(xs, ys, 1)
    return float(intercept), float(slope)


def accuracy_plot(series: dict[str, list[tuple[float, float, str]]], *, title: str) -> str:
    """Points (x, y, model) per series, each series' fitted line, and y = x, on a shared square range."""
    values = [v for points in series.values() for x, y, _ in points for v in (x, y) if math.isfinite(v)]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (high - low) * 0.06 or 0.05
    low, high = max(0.0, low - pad), min(1.0, high + pad)
    x = unit_scale(low, high, LEFT, WIDTH - RIGHT)
    y = unit_scale(low, high, HEIGHT - BOTTOM, TOP)
    ticks = [(v, f"{v:.2f}") for v in (low, (low + high) / 2, high)]
    parts = [axes("original accuracy", "replicated accuracy",
                   [(x(v), s) for v, s in ticks], [(y(v), s) for v, s in ticks], HEIGHT),
             f'<line class="diagonal" x1="{x(low):.1f}" y1="{y(low):.1f}" x2="{x(high):.1f}" y2="{y(high):.1f}"/>']
    for i, (label, points) in enumerate(series.items()):
        css = f"g{i % PALETTE}"
        line = fit_line(points)
        ends = _clip(*line, low, high) if line is not None else None
        if line is not None and ends is not None:
            a, b = line
            parts.append(f'<line class="line {css}" x1="{x(ends[0][0]):.1f}" y1="{y(ends[0][1]):.1f}" '
                         f'x2="{x(ends[1][0]):.1f}" y2="{y(ends[1][1]):.1f}"><title>{text(label)}: '
                         f'y = {a:.3f} + {b:.3f} x</title></line>')
        for px, py, model in points:
            if math.isfinite(px) and math.isfinite(py):
                parts.append(f'<circle class="dot {css}" cx="{x(px):.1f}" cy="{y(py):.1f}" r="3.5">'
                             f"<title>{text(f'{model} ({label}): {px:.3f}, {py:.3f}')}</title></circle>")
        row = TOP + 4 + 14 * i
        parts.append(f'<circle class="dot {css}" cx="{WIDTH + 4}" cy="{row}" r="4"/>'
                     f'<text class="small" x="{WIDTH + 12}" y="{row + 4}">{text(label)}</text>')
    return frame(title, HEIGHT, "".join(parts), WIDTH + LEGEND)


def _clip(a: float, b: float, low: float, high: float) -> list[tuple[float, float]] | None:
    """The part of y = a + b x inside the square [low, high]^2, as its two ends; None when it misses."""
    start, stop = low, high
    if b != 0:
        first, second = sorted(((low - a) / b, (high - a) / b))
        start, stop = max(start, first), min(stop, second)
    elif not low <= a <= high:
        return None
    if start >= stop:
        return None
    return [(start, a + b * start), (stop, a + b * stop)]
