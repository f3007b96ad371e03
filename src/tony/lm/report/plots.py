"""The language-model plots: calibration, accuracy under perturbation, accuracy against efficiency."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from tony.lm.metrics.families import ACCURACY_METRICS
from tony.report.html import number
from tony.report.svg import Bar, Point, ReliabilityBin, interval_bars, reliability_diagram, scatter

BINS = 10
EFFICIENCY_AXES = (("wall_s_per_instance", "seconds per instance"),
                   ("processed_tokens_per_instance", "tokens processed per instance"))


def reliability_bins(pairs: Iterable[tuple[float, bool]], bins: int = BINS) -> list[ReliabilityBin]:
    """(confidence, correct) pairs in equal-width bins, as `tony.lm.metrics.calibration` bins them:
    bin i holds confidences in (i/bins, (i+1)/bins], a confidence of 0 the first."""
    confidences, corrects, counts = [0.0] * bins, [0.0] * bins, [0] * bins
    for confidence, correct in pairs:
        index = min(max(math.ceil(confidence * bins) - 1, 0), bins - 1)
        confidences[index] += confidence
        corrects[index] += float(correct)
        counts[index] += 1
    return [ReliabilityBin(i / bins, (i + 1) / bins, s / n if n else 0.0, c / n if n else 0.0, n)
            for i, (s, c, n) in enumerate(zip(confidences, corrects, counts, strict=True))]


def calibration_plot(pairs: Sequence[tuple[float, bool]]) -> str:
    """The reliability diagram of a run's unperturbed instances ("" when none has a confidence)."""
    if not pairs:
        return ""
    return reliability_diagram(reliability_bins(pairs), title=f"Reliability diagram ({len(pairs)} instances)")


def perturbation_plot(stats: Sequence[dict[str, Any]]) -> str:
    """The headline accuracy metric, plainly and under each perturbation family and variant, with intervals
    ("" when the run has no perturbation stats)."""
    main = {s["name"]: s for s in stats if s["split"] == "" and s["subgroup"] == ""}
    for metric in ACCURACY_METRICS:
        perturbed = sorted(name for name, s in main.items() if s["metric"] == metric and s["variant"])
        if metric in main and perturbed:
            bars = [_bar(metric, main[metric], "base")]
            bars += [_bar(name.removeprefix(f"{metric}@"), main[name]) for name in perturbed]
            return interval_bars(bars, title=f"{metric} under perturbation", axis_label=metric)
    return ""


def _bar(label: str, row: dict[str, Any], css: str = "") -> Bar:
    nan = float("nan")
    value, low, high = (nan if row[k] is None else row[k] for k in ("value", "ci_low", "ci_high"))
    return Bar(label, value, low, high, css)


def efficiency_scatters(models: dict[str, dict[tuple[str, str, str], dict[str, Any]]]) -> str:
    """Per axis of EFFICIENCY_AXES, each run's headline accuracy metric against it, coloured by model."""
    plots = []
    for stat, axis in EFFICIENCY_AXES:
        points = []
        for model, cells in models.items():
            for scenario, method in sorted({k[:2] for k in cells}):
                cost = cells.get((scenario, method, stat))
                accuracy = next((cells[scenario, method, m] for m in ACCURACY_METRICS
                                 if (scenario, method, m) in cells), None)
                if cost is None or accuracy is None or cost["value"] is None or accuracy["value"] is None:
                    continue
                label = (f"{model} \u00b7 {scenario} \u00b7 {method}: {accuracy['name']} "
                         f"{number(accuracy['value'])}, {axis} {number(cost['value'])}")
                points.append(Point(cost["value"], accuracy["value"], label, model))
        if points:
            plots.append(scatter(points, title=f"Accuracy against {axis}", x_label=axis,
                                 y_label="headline accuracy", log_x=True))
    return "".join(plots) or '<p class="muted">No run has both an accuracy and an efficiency stat.</p>'
