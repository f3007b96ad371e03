"""The RL pages of the results site (registered as report source "rl").

One page, rl/index.html: per environment, the mean over seeds of the recent return (the mean raw
return of the last 10 finished episodes) against environment steps, one line per configuration
with its 95% t band over seeds; a table of final returns per configuration (mean over seeds with
its t interval, n = seeds) beside the mean trust-region diagnostics; and one plot per diagnostic
(mean KL between successive policies, maximum ratio, fraction of ratios outside [1 - eps, 1 + eps],
entropy, value loss) against steps. Reads only the store (no torch, no gymnasium).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tony.core.store import Store
from tony.report.html import stat_cell, table, text
from tony.report.pages import Page
from tony.report.svg import Series, line_plot
from tony.rl.diagnostics import DIAGNOSTICS
from tony.rl.spec import RLSpec
from tony.rl.study import curve, group_key, seed_summary
from tony.rl.task import KIND

PATH = "rl/index.html"


def pages(store: Store) -> Iterator[Page]:
    """The RL page, when the store holds complete RL runs."""
    runs = store.runs("complete", kind=KIND)
    if not runs:
        return
    sections = []
    for env in sorted({r["spec"]["env"] for r in runs}):
        sections.append(_env_section(store, env, [r for r in runs if r["spec"]["env"] == env]))
    body = ("<h1>PPO and TRPO: code-level optimizations</h1>"
            "<p>Each configuration is a preset (PPO, PPO-M, PPO-NoClip, TRPO, TRPO+) with switches flipped. "
            "Returns are raw episode returns; bands and brackets are 95% t intervals over seeds (n = seeds). "
            "The final return of a run is the mean return of the episodes that ended in its last 10 iterations. "
            f"Diagnostics are measured after each iteration's update on that iteration's batch.</p>{''.join(sections)}")
    yield Page(PATH, "PPO / TRPO ablations", body,
               summary=f"returns and trust-region diagnostics of {len(runs)} PPO/TRPO runs")


def _env_section(store: Store, env: str, runs: list[dict[str, Any]]) -> str:
    summary = seed_summary(store, runs)
    groups: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault(group_key(run["spec"]), []).append(run)
    labelled: dict[str, list[list[dict[str, Any]]]] = {}
    for members in groups.values():
        spec = members[0]["spec"]
        label = RLSpec.model_construct(**spec).label()
        if label in labelled:  # same configuration, other hyperparameters (e.g. total steps)
            label = f"{label} #{len(labelled)}"
        labelled[label] = [sorted(store.records(m["run_id"]), key=lambda r: r["iteration"]) for m in members]
    labelled = dict(sorted(labelled.items()))
    plots = [_plot(labelled, "recent_return", f"{env}: return (last 10 episodes)", "return")]
    plots += [_plot(labelled, name, f"{env}: {title}", name) for name, title in DIAGNOSTICS.items()]
    rows = [[text(row["label"]), str(len(row["seeds"])), f"{row['steps']:,}",
             *(_cell(row[name]) for name in ("final_return", *DIAGNOSTICS))] for row in summary]
    return (f"<h2>{text(env)}</h2><div class=\"plots\">{plots[0]}</div>"
            + table(["configuration", "seeds", "steps", "final return", *DIAGNOSTICS], rows)
            + f"<h3>Trust-region diagnostics</h3><div class=\"plots\">{''.join(plots[1:])}</div>")


def _cell(stat: Any) -> str:
    def finite(v: float) -> float | None:
        return v if v is not None and math.isfinite(v) else None

    return stat_cell(finite(stat.value), finite(stat.ci_low), finite(stat.ci_high), n=stat.n)


def _plot(labelled: Mapping[str, Sequence[Sequence[dict[str, Any]]]], field: str, title: str, y_label: str) -> str:
    series = []
    for label, seeds in labelled.items():
        steps, points = curve(seeds, field)
        series.append(Series(label, steps, [p.value for p in points], [p.ci_low for p in points],
                             [p.ci_high for p in points]))
    return line_plot(series, title=title, x_label="environment steps", y_label=y_label)
