"""The feature-priors page of the results site (registered as report source "vision-priors").

One page, priors/index.html: per setting (dataset, labeled images, spurious correlation p, object textures, model
width and steps), a table of every model of every method (test accuracy with its bootstrap interval over test
images and its t interval over seeds, accuracy on images whose cue agrees with their class and on the others, shape
bias), bars of the shape bias, test accuracy over co- and self-training rounds, and the accuracy of the
pseudo-labels each model was trained on per round. Reads only the store's runs and stats (no torch).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tony.core.store import Store
from tony.report.html import stat_cell, table, text
from tony.report.pages import Page, grouped_runs
from tony.report.svg import Bar, Series, interval_bars, line_plot

KIND = "priors"
PATH = "priors/index.html"
METHOD_ORDER = ("single", "ensemble", "self_train", "co_train", "co_train_combined")


def pages(store: Store) -> Iterator[Page]:
    """The priors page, when the store holds complete priors runs."""
    settings, stats = grouped_runs(store, KIND, setting_of)
    if not settings:
        return
    sections = [_section(name, group, stats) for name, group in settings.items()]
    body = ("<h1>Combining diverse feature priors</h1>"
            "<p>Models with different priors (shape: edges; texture: small patches) learn from a small labeled set "
            "whose spurious cue (the world's background texture, or a mark on Fashion-MNIST) follows the class with "
            "correlation p, then from a large unlabeled set where it does not: self-training labels unlabeled images "
            "for itself, co-training for the other prior. Accuracy is on test images without the correlation; "
            "brackets: 95% bootstrap intervals over test images, and t intervals over seeds. Shape bias: on "
            "cue-conflict images (one class's shape on another's texture), the decisions that follow the shape "
            f"among those that follow shape or texture.</p>{''.join(sections)}")
    yield Page(PATH, "Feature priors", body, summary="shape and texture priors, self- and co-training under a "
                                                       f"spurious correlation: {len(stats)} runs")


def setting_of(run: dict[str, Any]) -> str:
    """The section a run belongs to: its data setting and how its models were trained (runs stored before the
    object textures and the training were labeled show neither)."""
    labels = run["labels"]
    extra = [f"object textures {labels['objects']}"] if labels.get("objects") else []
    extra += [labels["training"]] if labels.get("training") else []
    return " · ".join([f"{labels.get('dataset', '?')} · {labels.get('labeled', '?')} labeled · "
                       f"p = {labels.get('spurious', '?')}", *extra])


def _section(name: str, runs: list[dict[str, Any]], stats: dict[str, list[dict[str, Any]]]) -> str:
    rows: list[list[str]] = []
    bars: list[Bar] = []
    accuracy_curves: list[Series] = []
    pseudo_curves: list[Series] = []
    runs = sorted(runs, key=lambda r: (_order(r["labels"].get("method", "")), r["run_id"]))
    for run in runs:
        method, seeds = run["labels"].get("method", "?"), run["labels"].get("seeds", "?")
        headline: dict[str, dict[str, dict[str, Any]]] = {}
        curves: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
        for row in stats[run["run_id"]]:
            if row["at"]:
                curves.setdefault((row["metric"], row["split"]), {})[int(row["at"])] = row
            else:
                column = row["name"] + (f" {row['subgroup']}" if row["subgroup"] else "")
                headline.setdefault(row["split"], {})[column] = row
        for model, values in headline.items():
            rows.append([text(method), text(model), text(str(seeds)),
                         *(_cell(values.get(column)) for column in ("accuracy", "accuracy_over_seeds",
                                                                    "accuracy cue=aligned", "accuracy cue=other",
                                                                    "shape_bias"))])
            bias = values.get("shape_bias")
            if bias is not None and method == "single":
                bars.append(Bar(model, bias["value"], bias["ci_low"], bias["ci_high"]))
        for (metric, model), points in sorted(curves.items()):
            xs = sorted(points)
            series = Series(f"{method} {model}", xs, [points[x]["value"] for x in xs],
                            [points[x]["ci_low"] for x in xs], [points[x]["ci_high"] for x in xs])
            (accuracy_curves if metric == "accuracy" else pseudo_curves).append(series)
    headers = ["method", "model", "seeds", "accuracy", "accuracy over seeds", "accuracy, cue agrees",
               "accuracy, cue disagrees", "shape bias"]
    plots = []
    if bars:
        plots.append(interval_bars(bars, title=f"{name}: shape bias of single priors", axis_label="shape bias"))
    if accuracy_curves:
        plots.append(line_plot(accuracy_curves, title="test accuracy over rounds", x_label="round",
                               y_label="accuracy", y_max=1.0))
    if pseudo_curves:
        plots.append(line_plot(pseudo_curves, title="pseudo-label accuracy per round", x_label="round",
                               y_label="pseudo-labels right", y_max=1.0))
    return f"<h2>{text(name)}</h2>{table(headers, rows)}<div class=\"plots\">{''.join(plots)}</div>"


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "<td></td>"
    return stat_cell(row["value"], row["ci_low"], row["ci_high"], n=row["n"])


def _order(method: str) -> int:
    return METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER)
