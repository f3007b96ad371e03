"""The BREEDS pages of the results site (registered as report source "vision-breeds").

One page, breeds/index.html: per benchmark (dataset, task and split), a scatter plot of source
against target accuracy (one point per run and variant: baseline, last layer retrained on target
data, strong augmentation) and a table of source accuracy, target accuracy, gap and the gain of each
intervention over the baseline, each with its 95% bootstrap interval; per run, the per-subclass
accuracies in a folded table. Reads only the store's runs and stats (no torch).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tony.core.store import Store
from tony.report.html import pre, stat_cell, table, text
from tony.report.pages import Page, grouped_runs
from tony.report.svg import Point, scatter

KIND = "breeds"
PATH = "breeds/index.html"
VARIANT_NAMES = {"baseline": "baseline", "last_layer": "last layer retrained on target",
                 "strong_augmentation": "strong augmentation"}
COLUMNS = ("source_accuracy", "target_accuracy", "gap", "target_gain", "source_gain")


def pages(store: Store) -> Iterator[Page]:
    """The BREEDS page, when the store holds complete BREEDS runs."""
    benchmarks, stats = grouped_runs(store, KIND, benchmark_of)
    if not benchmarks:
        return
    sections = [_section(name, group, stats) for name, group in benchmarks.items()]
    body = ("<h1>BREEDS: subpopulation shift</h1>"
            "<p>Each model learns superclasses from the images of some of their subclasses (the source) and is "
            "tested on held-out images of those subclasses and on images of subclasses it never saw (the "
            "target). The gap is source minus target accuracy. Interventions: the baseline's last layer "
            "retrained on target images (its features frozen), and training with strong augmentation. "
            "Brackets: 95% bootstrap intervals over test images; gains are paired differences from the "
            f"baseline on the same images.</p>{''.join(sections)}")
    yield Page(PATH, "BREEDS subpopulation shift", body,
               summary=f"source vs target accuracy under subpopulation shift: {len(stats)} runs")


def benchmark_of(run: dict[str, Any]) -> str:
    """A run's benchmark: its dataset, task (published name or level) and split."""
    labels = run["labels"]
    return f"{labels.get('dataset', '?')} · {labels.get('benchmark', '?')} · {labels.get('split', '?')} split"


def _section(name: str, runs: list[dict[str, Any]], stats: dict[str, list[dict[str, Any]]]) -> str:
    points, rows, details = [], [], []
    for run in sorted(runs, key=lambda r: r["run_id"]):
        model = f"{run['labels'].get('model', '?')}, {run['labels'].get('epochs', '?')} epochs"
        by_variant: dict[str, dict[str, dict[str, Any]]] = {}
        subclasses: dict[str, dict[str, dict[str, Any]]] = {}
        for row in stats[run["run_id"]]:
            if row["subgroup"]:
                subclasses.setdefault(row["subgroup"], {})[row["split"]] = row
            else:
                by_variant.setdefault(row["split"], {})[row["name"]] = row
        for variant in sorted(by_variant, key=_variant_order):
            values = by_variant[variant]
            label = VARIANT_NAMES.get(variant, variant)
            source, target = values.get("source_accuracy"), values.get("target_accuracy")
            if source and target:
                points.append(Point(source["value"], target["value"], f"{label} ({model}, run "
                                    f"{run['run_id'][:8]}): source {source['value']:.3f}, target "
                                    f"{target['value']:.3f}", label))
            rows.append([text(model), text(run["run_id"][:12]), text(label),
                         *(_cell(values.get(column)) for column in COLUMNS)])
        details.append(_subclass_table(run, model, subclasses))
    plot = scatter(points, title=f"{name}: source vs target accuracy", x_label="source accuracy",
                   y_label="target accuracy")
    headers = ["model", "run", "variant", "source accuracy", "target accuracy", "gap (source - target)",
               "target gain vs baseline", "source gain vs baseline"]
    spec = runs[0]["spec"]
    return (f"<h2>{text(name)}</h2><div class=\"plots\">{plot}</div>{table(headers, rows)}{''.join(details)}"
            f"<details><summary>study spec (first run)</summary>{pre(json.dumps(spec, indent=1))}</details>")


def _subclass_table(run: dict[str, Any], model: str, subclasses: dict[str, dict[str, dict[str, Any]]]) -> str:
    variants = sorted({v for row in subclasses.values() for v in row}, key=_variant_order)
    rows = []
    for subgroup in sorted(subclasses):
        side, _, subclass = subgroup.partition(":")
        rows.append([text(subclass), text(side),
                     *(_cell(subclasses[subgroup].get(v)) for v in variants)])
    headers = ["subclass", "side", *(VARIANT_NAMES.get(v, v) for v in variants)]
    return (f"<details><summary>per-subclass accuracy: {text(model)}, run {text(run['run_id'][:12])}</summary>"
            f"{table(headers, rows)}</details>")


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "<td></td>"
    return stat_cell(row["value"], row["ci_low"], row["ci_high"], n=row["n"])


def _variant_order(variant: str) -> int:
    order = list(VARIANT_NAMES)
    return order.index(variant) if variant in order else len(order)
