"""The editing pages of the results site (registered as report source "vision-editing").

One page, editing/index.html: per dataset, concept and style, the errors corrected against the number of
exemplars for each method (a line per method with its interval band), a before/after table (the unedited
model's clean and transformed accuracy, then per run and method the corrected fractions and the clean
accuracy drop, each with its 95% interval over edits), and the first draw's exemplars beside their
transformed versions; then the vulnerability tables of the sweeps. Reads only the store (no torch).
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from tony.core.store import Store
from tony.report.html import stat_cell, table, text
from tony.report.pages import Page
from tony.report.svg import Series, line_plot

KIND, SWEEP_KIND = "editing", "editing-sweep"
PATH = "editing/index.html"
METHOD_NAMES = {"rewrite": "rewrite (rank one)", "finetune_local": "fine-tune the layer",
                "finetune_global": "fine-tune every layer"}
COLUMNS = ("corrected_exemplar_class", "corrected_other_classes", "clean_accuracy_drop", "exemplars_fixed")
IMAGES = "editing-exemplars/"
"""Artifact name prefix of a study's exemplar strip (followed by the run id)."""
SCALE = 3
"""Each image pixel as SCALE x SCALE pixels in the strip."""


def png_strip(rows: list[np.ndarray]) -> bytes:
    """A PNG of image rows (each uint8 [n, C, H, W]) side by side, a row under the other, enlarged SCALE times."""
    from PIL import Image

    lines = [np.concatenate(list(row.transpose(0, 2, 3, 1)), axis=1) for row in rows]
    grid = np.concatenate(lines, axis=0).repeat(SCALE, axis=0).repeat(SCALE, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(buffer, format="PNG")
    return buffer.getvalue()


def pages(store: Store) -> Iterator[Page]:
    """The editing page, when the store holds complete editing studies or sweeps."""
    runs, sweeps = store.runs("complete", kind=KIND), store.runs("complete", kind=SWEEP_KIND)
    if not runs and not sweeps:
        return
    stats = store.stats_by_run([r["run_id"] for r in runs + sweeps])
    groups: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        labels = run["labels"]
        groups.setdefault(f"{labels['dataset']} · {labels['concept']} → {labels['style']}", []).append(run)
    sections = [_section(name, group, stats, store) for name, group in sorted(groups.items())]
    sections += [_sweep(run, stats[run["run_id"]]) for run in sweeps]
    body = ("<h1>Editing a classifier by rewriting its prediction rules</h1>"
            "<p>A concept (the object, or its background) is transformed (replaced by a texture) in a few training "
            "images of one class, the exemplars, and the model is edited so that it treats them as before: by a "
            "rank-one rewrite of one layer (its output on the transformed concept mapped to its output on the "
            "original), or by fine-tuning that layer or the whole model on them. Errors: test images with the "
            "concept that the unedited model gets right, and wrong once transformed; corrected: right after the "
            "edit. Brackets: 95% bootstrap intervals over edits (model seeds x exemplar draws); the unedited "
            f"model's over images.</p>{''.join(sections)}")
    yield Page(PATH, "Editing classifiers", body,
               summary=f"rank-one rewrites against fine-tuning: {len(runs)} studies, {len(sweeps)} sweeps")


def _by_split(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        if not row["subgroup"]:
            out.setdefault(row["split"], {})[row["name"]] = row
    return out


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "<td></td>"
    return stat_cell(row["value"], row["ci_low"], row["ci_high"], n=row["n"])


def _section(name: str, runs: list[dict[str, Any]], stats: dict[str, list[dict[str, Any]]], store: Store) -> str:
    runs = sorted(runs, key=lambda r: (r["labels"]["model"], r["labels"]["exemplars"], r["run_id"]))
    rows: list[list[str]] = []
    curves: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
    images: list[str] = []
    for run in runs:
        labels, splits = run["labels"], _by_split(stats[run["run_id"]])
        setting = f"{labels['model']}, layer {labels['layer']}, {labels['exemplars']} exemplar(s)"
        unedited = splits.get("unedited", {})
        rows.append([text(setting), text(run["run_id"][:12]), text("unedited"),
                     _cell(unedited.get("clean_accuracy")), _cell(unedited.get("transformed_accuracy")),
                     _cell(unedited.get("broken_fraction")), "<td></td>" * 3])
        for method in [m for m in METHOD_NAMES if m in splits]:
            values = splits[method]
            rows.append([text(setting), text(run["run_id"][:12]), text(METHOD_NAMES[method]), "<td></td>" * 3,
                         *(_cell(values.get(column)) for column in COLUMNS[:3])])
            other = values.get("corrected_other_classes")
            if other is not None:
                curves.setdefault((labels["model"], method), {})[labels["exemplars"]] = other
        strip = store.latest_artifact(IMAGES + run["run_id"])
        if strip is not None and strip.path.is_file() and len(images) < 4:
            encoded = base64.b64encode(strip.path.read_bytes()).decode("ascii")
            images.append(f'<figure><img alt="exemplars" src="data:image/png;base64,{encoded}"><figcaption>'
                          f"{text(setting)}: the first draw's exemplars (top) and transformed (bottom)"
                          "</figcaption></figure>")
    headers = ["setting", "run", "model", "clean accuracy", "transformed accuracy", "broken by the transformation",
               "corrected: exemplar class", "corrected: other classes", "clean accuracy drop"]
    return (f"<h2>{text(name)}</h2><div class=\"plots\">{_curve_plot(name, curves)}</div>"
            f"{table(headers, rows)}{''.join(images)}")


def _curve_plot(name: str, curves: dict[tuple[str, str], dict[int, dict[str, Any]]]) -> str:
    series = []
    for (model, method), points in sorted(curves.items()):
        ks = sorted(points)
        series.append(Series(f"{METHOD_NAMES[method]} ({model})", [float(k) for k in ks],
                             [_finite(points[k]["value"]) for k in ks], [_finite(points[k]["ci_low"]) for k in ks],
                             [_finite(points[k]["ci_high"]) for k in ks]))
    return line_plot(series, title=f"{name}: errors corrected on other classes", x_label="exemplars",
                     y_label="fraction corrected", y_max=1.0)


def _finite(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _sweep(run: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    cells: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        if row["name"] == "broken_fraction":
            cells.setdefault(row["split"], {})[row["subgroup"]] = row
    styles = sorted({s for by_style in cells.values() for s in by_style})
    body = [[text(concept), *(_cell(by_style.get(style)) for style in styles)] for concept, by_style in cells.items()]
    labels = run["labels"]
    return (f"<h2>Vulnerability: {text(labels['dataset'])}, {text(labels['model'])} (run {text(run['run_id'][:12])})"
            "</h2><p>Of the test images with the concept that the unedited model gets right, the fraction that "
            f"replacing the concept by each texture makes wrong.</p>{table(['concept', *styles], body)}")
