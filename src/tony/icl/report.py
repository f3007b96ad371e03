"""The in-context-learning pages of the results site (registered as report source "icl").

One page, icl/index.html: per trained model (class, d, size, steps), one plot per evaluated prompt
distribution of normalized squared error against the number of in-context examples k, a line per
predictor (the transformer and each baseline) with its 90% bootstrap band, and a table of the
values at a few k. Reads only the store's runs and stats (no torch).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from tony.core.store import Store
from tony.report.html import pre, stat_cell, table, text
from tony.report.pages import Page, grouped_runs
from tony.report.svg import Series, line_plot

KIND = "icl"
PATH = "icl/index.html"
Y_CAP = 1.5
"""The plots' y axis ends here at most (errors above it are drawn at the top edge)."""


def icl_pages(store: Store) -> Iterator[Page]:
    """The ICL page, when the store holds complete ICL evaluations."""
    by_model, stats_by_run = grouped_runs(store, KIND, lambda run: json.dumps(run["spec"]["train"], sort_keys=True))
    if not by_model:
        return
    sections = [_model_section(json.loads(train), group, stats_by_run) for train, group in by_model.items()]
    body = ("<h1>In-context learning of function classes</h1>"
            "<p>Normalized squared error (squared error divided by the function class's output variance, so "
            "predicting 0 scores about 1) of the prediction at each prompt position, against k, the number of "
            "in-context examples before it; bands and brackets are 90% bootstrap intervals over prompts. "
            "The transformer is trained once per training spec (a store artifact) and compared with the "
            f"baselines on the same prompts.</p>{''.join(sections)}")
    yield Page(PATH, "In-context learning", body,
               summary=f"transformers against least squares and other baselines: {len(stats_by_run)} evaluations")


def _model_section(train: dict[str, Any], runs: list[dict[str, Any]],
                   stats_by_run: dict[str, list[dict[str, Any]]]) -> str:
    args = "".join(f", {k}={v}" for k, v in sorted(train.get("function_args", {}).items()))
    heading = (f"{train['function_class']}{args}, d={train['dims']}: transformer {train['model_size']}, "
               f"{train['steps']:,} steps of batch {train['batch_size']}")
    plots, tables = [], []
    for run in sorted(runs, key=lambda r: (r["spec"]["distribution"], r["spec"].get("scale") or 0)):
        curves = _curves(stats_by_run[run["run_id"]], run["spec"]["baselines"])
        title = run["labels"].get("distribution", run["spec"]["distribution"])
        plots.append(_plot(curves, f"{train['function_class']} d={train['dims']}, {title} prompts"))
        tables.append(f"<h3>{text(title)} prompts ({text(run['run_id'][:12])})</h3>"
                      + _table(curves, train["dims"]))
    spec = pre(json.dumps(train, indent=1))
    return (f"<h2>{text(heading)}</h2><div class=\"plots\">{''.join(plots)}</div>{''.join(tables)}"
            f"<details><summary>training spec</summary>{spec}</details>")


def _curves(stats: Sequence[dict[str, Any]], baselines: Sequence[str]) -> dict[str, dict[int, dict[str, Any]]]:
    """Predictor label -> k -> stat row, the transformer first, then the baselines in spec order."""
    order = ["", *(f"baseline:{b}" for b in baselines)]
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for row in stats:
        if row["metric"] == "nse" and row["at"] and row["split"] in order:
            out.setdefault(row["split"], {})[int(row["at"])] = row
    return {(split.removeprefix("baseline:") or "transformer"): dict(sorted(out[split].items()))
            for split in order if split in out}


def _plot(curves: dict[str, dict[int, dict[str, Any]]], title: str) -> str:
    nan = float("nan")

    def values(rows: dict[int, dict[str, Any]], field: str) -> list[float]:
        return [nan if r[field] is None else float(r[field]) for r in rows.values()]

    series = [Series(label, [float(k) for k in rows], values(rows, "value"), values(rows, "ci_low"),
                     values(rows, "ci_high")) for label, rows in curves.items()]
    top = max([v for s in series for v in s.ys if v == v] + [1e-9])
    return line_plot(series, title=title, x_label="in-context examples k", y_label="normalized squared error",
                     y_max=min(top, Y_CAP))


def _table(curves: dict[str, dict[int, dict[str, Any]]], dims: int) -> str:
    """Values at k = 0, d/2, d, 2d and the last position (those the prompts have)."""
    last = max((k for rows in curves.values() for k in rows), default=0)
    ks = sorted({k for k in (0, dims // 2, dims, 2 * dims, last) if k <= last})
    rows = [[text(label), *(stat_cell(r["value"], r["ci_low"], r["ci_high"], n=r["n"]) if (r := rows.get(k))
                            else "<td></td>" for k in ks)]
            for label, rows in curves.items()]
    return table(["predictor", *(f"k={k}" for k in ks)], rows)

