"""The multi-label pages of the results site (registered as report source "annotations-multilabel").

One page, annotations/multilabel.html: per stored run, the data set's statistics, the distribution
of objects per image (bars with 95% bootstrap intervals), standard against multi-label top-1 accuracy
(one point per model, and bars with intervals), and the accuracy table by first-stage outcome, number
of objects and superclass. Reads only the store's runs and stats.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tony.annotations.multilabel.accuracy import METRICS
from tony.annotations.multilabel.study import KIND
from tony.core.store import Store
from tony.report.html import number, stat_cell, table, text
from tony.report.pages import Page
from tony.report.svg import Bar, Point, interval_bars, scatter

PATH = "annotations/multilabel.html"
METRIC_NAMES = {"top1": "top-1 (benchmark label)", "multilabel_top1": "multi-label top-1",
                "main_top1": "top-1 against the main label", "top5": "top-5"}


def pages(store: Store) -> Iterator[Page]:
    """The multi-label page, when the store holds complete multi-label runs."""
    runs = store.runs("complete", kind=KIND)
    if not runs:
        return
    by_run = store.stats_by_run(r["run_id"] for r in runs)
    sections = [_section(run, by_run[run["run_id"]]) for run in reversed(runs)]
    body = ("<h1>Multi-label annotations</h1>"
            "<p>Per image, annotators selected every label present (one per object) and the main object. "
            "Number of objects: the most common selection size. Main label: the most frequent main choice "
            "(ties: higher selection frequency, then lower class index). A label is valid when enough "
            "annotators selected it; multi-label top-1 counts a prediction correct when it is a valid label of "
            "any object. Intervals are 95% bootstrap intervals over images.</p>" + "".join(sections))
    yield Page(PATH, "Multi-label annotations", body,
               summary=f"what benchmark labels miss: objects per image, main labels, multi-label accuracy "
                       f"({len(runs)} run{'s' if len(runs) != 1 else ''})")


def _section(run: dict[str, Any], stats: list[dict[str, Any]]) -> str:
    spec = run["spec"]
    dataset = {(s["name"], s["subgroup"]): s for s in stats if not s["split"]}
    images = dataset.get(("images", ""))
    head = (f"<h2>{text(spec['data'])} <small>run {text(run['run_id'][:12])}</small></h2>"
            f"<p>valid label: selected by at least {number(spec['min_selection'])} of annotators; "
            f"co-selection threshold {number(spec['co_selection_threshold'])}</p>")
    if images is None:
        return head
    rows = [[text(label), _cell(s)]
            for label, key in (("images with per-annotator judgments", "images"),
                               ("multi-object images", "multi_object_images"),
                               ("fraction multi-object", "multi_object_fraction"),
                               ("main label is the benchmark label", "main_label_is_benchmark_label"),
                               ("main label decided by the tie rule", "main_label_ties"),
                               ("valid labels per image", "valid_labels_per_image"))
            if (s := dataset.get((key, "")))]
    rows += [[text(f"main label is the benchmark label, {s['subgroup'].replace(':', ' ')}"), _cell(s)]
             for (name, subgroup), s in sorted(dataset.items()) if name == "main_label_is_benchmark_label" and subgroup]
    rows += [[text(f"first stage: {s['subgroup'].removeprefix('first_stage:')} images"), _cell(s)]
             for (name, _), s in dataset.items() if name == "first_stage_images"]
    histogram = sorted((s for (name, _), s in dataset.items() if name == "objects_per_image"),
                       key=lambda s: int(s["subgroup"].removeprefix("objects:")))
    bars = [Bar(f"{s['subgroup'].removeprefix('objects:')} object(s)", s["value"], s["ci_low"], s["ci_high"])
            for s in histogram]
    plots = [interval_bars(bars, title="Objects per image", axis_label="fraction of annotated images")]
    models = sorted({s["split"] for s in stats if s["split"]})
    if models:
        plots += _accuracy_plots(stats, models)
    tables = "".join(_model_table(model, [s for s in stats if s["split"] == model]) for model in models)
    return head + table(["statistic", "value [95% CI]"], rows) + f"<div class=\"plots\">{''.join(plots)}</div>" + tables


def _cell(stat: dict[str, Any]) -> str:
    """A count (an exact number, its interval itself) as a plain integer; anything else with its interval."""
    value = stat["value"]
    if value is not None and stat["ci_low"] == stat["ci_high"] == value and float(value).is_integer():
        return f'<td class="num" data-v="{value!r}" title="n={stat["n"]}">{int(value)}</td>'
    return stat_cell(value, stat["ci_low"], stat["ci_high"], n=stat["n"])


def _accuracy_plots(stats: list[dict[str, Any]], models: list[str]) -> list[str]:
    overall = {(s["split"], s["name"]): s for s in stats if s["split"] and not s["subgroup"]}
    points = [Point(overall[(m, "top1")]["value"], overall[(m, "multilabel_top1")]["value"],
                    f"{m}: top-1 {number(overall[(m, 'top1')]['value'])}, multi-label "
                    f"{number(overall[(m, 'multilabel_top1')]['value'])}", m)
              for m in models if (m, "top1") in overall and (m, "multilabel_top1") in overall]
    bars = [Bar(f"{m}: {label}", s["value"], s["ci_low"], s["ci_high"], "base" if metric == "top1" else "")
            for m in models for metric, label in (("top1", "top-1"), ("multilabel_top1", "multi-label"))
            if (s := overall.get((m, metric)))]
    return [scatter(points, title="Standard against multi-label top-1", x_label="standard top-1 accuracy",
                    y_label="multi-label top-1 accuracy"),
            interval_bars(bars, title="Standard and multi-label top-1", axis_label="accuracy")]


def _model_table(model: str, stats: list[dict[str, Any]]) -> str:
    by_subgroup: dict[str, dict[str, dict[str, Any]]] = {}
    for s in stats:
        by_subgroup.setdefault(s["subgroup"] or "all images", {})[s["name"]] = s
    rows = [[text(subgroup), *(stat_cell(stat["value"], stat["ci_low"], stat["ci_high"], n=stat["n"])
                               if (stat := metrics.get(m)) else "<td></td>" for m in METRICS)]
            for subgroup, metrics in sorted(by_subgroup.items(), key=lambda kv: (kv[0] != "all images", kv[0]))]
    return f"<h3>{text(model)}</h3>" + table(["images", *(METRIC_NAMES[m] for m in METRICS)], rows)
