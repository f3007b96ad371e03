"""The language-model leaderboard: models x scenarios, one tab per metric family (HELM's layout).

Each (model, scenario, method) shows the latest complete run of it; a cell is a stat of the whole run
(split "" and subgroup "") with its 95% interval, in the tab of the stat's family. Stats with split
"baseline:chance" or "baseline:majority" become the rows "chance" and "majority". Each tab's mean win rate
is HELM's, over the tab's scenarios, on each scenario's headline metric (underlined), each ranked by its
metric's declared direction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tony.core.metric_info import Direction
from tony.core.stat_id import WORST_CASE
from tony.core.stats import mean_win_rate
from tony.lm.metrics.families import ACCURACY_METRICS, FAMILIES
from tony.lm.report import paths
from tony.lm.report.plots import efficiency_scatters
from tony.report.html import link, number, sort_key, stat_cell, table, text
from tony.report.pages import Page

BASELINE_ROWS = {"baseline:chance": "chance", "baseline:majority": "majority"}
HEADLINES = ("ece_10_bin", "wall_s_per_instance", "not_unsafe")
"""Headline metrics of the families whose first metric is not an accuracy."""

Key = tuple[str, str, str]
"""(scenario, method, metric): one column of the leaderboard."""


@dataclass
class Grid:
    """The leaderboard's cells: stat rows by row name, then by column."""

    models: dict[str, dict[Key, dict[str, Any]]] = field(default_factory=dict)
    baselines: dict[str, dict[Key, dict[str, Any]]] = field(default_factory=dict)


def metric_rank(row: dict[str, Any]) -> tuple[bool, bool, int, str]:
    """Sort order of a family's stats: the headline first, per-perturbation breakdowns last."""
    metric = row["metric"]
    accuracy = ACCURACY_METRICS.index(metric) if metric in ACCURACY_METRICS else len(ACCURACY_METRICS)
    return row["variant"] not in ("", WORST_CASE), metric not in HEADLINES, accuracy, row["name"]


def collect(runs: Sequence[dict[str, Any]], stats: Sequence[dict[str, Any]]) -> Grid:
    """The cells: for each (model, scenario, method) the stats of its latest complete run."""
    latest: dict[tuple[str, str, str], str] = {}
    for run in runs:  # in creation order, so a later run replaces an earlier one
        if run["status"] == "complete":
            labels = run["labels"]
            latest[labels.get("model", ""), labels.get("scenario", ""), labels.get("method", "")] = run["run_id"]
    shown = set(latest.values())
    grid = Grid()
    for row in stats:
        if row["run_id"] not in shown or row["subgroup"]:
            continue
        labels = row["labels"]
        key = (labels.get("scenario", ""), labels.get("method", ""), row["name"])
        if row["split"] == "":
            grid.models.setdefault(labels.get("model", ""), {})[key] = row
        elif row["split"] in BASELINE_ROWS:
            grid.baselines.setdefault(BASELINE_ROWS[row["split"]], {})[key] = row
    return grid


def win_rates(grid: Grid, keys: list[Key]) -> dict[str, float]:
    """Mean win rate per model over the scenarios of `keys`, on each scenario's headline (its first key)."""
    headline: dict[tuple[str, str], str] = {}
    for scenario, method, metric in keys:
        headline.setdefault((scenario, method), metric)
    table_: dict[str, dict[str, float]] = {}
    directions: dict[str, Direction] = {}
    for model, cells in grid.models.items():
        for (scenario, method), metric in headline.items():
            row = cells.get((scenario, method, metric))
            if row is not None and row["value"] is not None:
                column = f"{scenario}\n{method}"
                table_.setdefault(model, {})[column] = row["value"]
                directions[column] = Direction.of_row(row)
    return mean_win_rate(table_, directions)


def _cell(row: dict[str, Any] | None) -> str:
    """A stat's cell, sorted by its ranking value, so a column's first sort puts the best first."""
    if row is None:
        return '<td class="num" data-v=""></td>'
    rank = None if row["value"] is None else Direction.of_row(row).rank(row["value"])
    return stat_cell(row["value"], row["ci_low"], row["ci_high"], n=row["n"], sort_by=rank,
                     href=paths.href(paths.run_page(row["run_id"])))


def family_keys(family: str, grid: Grid) -> list[Key]:
    """The columns of a family's tab: the stats of that family some model has, by scenario and method, each
    scenario's headline first."""
    rows = {key: row for cells in grid.models.values() for key, row in cells.items()}
    return sorted((key for key, row in rows.items() if row["family"] == family),
                  key=lambda k: (k[0], k[1], metric_rank(rows[k])))


def family_tab(family: str, grid: Grid) -> str:
    """The tab of one family ("" when no model has a stat of it)."""
    keys = family_keys(family, grid)
    if not keys:
        return ""
    rates = win_rates(grid, keys)
    groups: dict[tuple[str, str], list[str]] = {}
    for scenario, method, metric in keys:
        groups.setdefault((scenario, method), []).append(metric)
    top = ('<th scope="col" rowspan="2" data-sort data-col="0">model</th>'
           '<th scope="col" rowspan="2" data-sort data-col="1" title="HELM mean win rate over this tab\'s '
           'scenarios, on the underlined metrics">mean win rate</th>')
    top += "".join(f'<th scope="colgroup" colspan="{len(metrics)}">{text(scenario)}'
                   f'<span class="ci">{text(method)}</span></th>' for (scenario, method), metrics in groups.items())
    leaves, column = [], 2
    for (scenario, method), metrics in groups.items():
        for i, metric in enumerate(metrics):
            headline = ' class="headline"' if i == 0 else ""
            leaves.append(f'<th scope="col" data-sort data-col="{column}"{headline} data-scenario="{text(scenario)}" '
                          f'data-method="{text(method)}">{text(metric)}</th>')
            column += 1
    models = sorted(grid.models, key=lambda m: (-rates.get(m, -1.0), m))
    body = "".join(_row(name, grid.models[name], keys, rates.get(name)) for name in models)
    baselines = "".join(_row(name, cells, keys, None) for name, cells in sorted(grid.baselines.items())
                        if any(k in cells for k in keys))
    return (f'<section class="tab" id="tab-{family}"><h2>{text(family)}</h2><div class="scroll">'
            f'<table class="sortable leaderboard" data-family="{family}"><thead><tr>{top}</tr>'
            f'<tr>{"".join(leaves)}</tr></thead><tbody class="sorted">{body}</tbody>'
            f'<tbody class="baselines">{baselines}</tbody></table></div></section>')


def _row(name: str, cells: dict[Key, dict[str, Any]], keys: list[Key], rate: float | None) -> str:
    rate_cell = f'<td class="num" data-v="{sort_key(rate)}">{text(number(rate)) if rate is not None else ""}</td>'
    return f'<tr><th scope="row">{text(name)}</th>{rate_cell}{"".join(_cell(cells.get(k)) for k in keys)}</tr>'


def runs_tab(runs: Sequence[dict[str, Any]], counts: dict[str, int]) -> str:
    rows = []
    for run in runs:
        labels = run["labels"]
        rows.append([
            link(paths.href(paths.run_page(run["run_id"])), run["run_id"][:12]),
            text(labels.get("scenario", "")), text(labels.get("model", "")), text(labels.get("method", "")),
            text(run["status"]), f'<td class="num" data-v="{counts[run["run_id"]]}">{counts[run["run_id"]]}</td>',
            f'<td class="num" data-v="{sort_key(run["wall_s"])}">{text(number(run["wall_s"]))}</td>',
        ])
    headers = ["run", "scenario", "model", "method", "status", "records", "wall s"]
    return f'<section class="tab" id="tab-runs"><h2>runs</h2>{table(headers, rows)}</section>'


def leaderboard_page(runs: Sequence[dict[str, Any]], stats: Sequence[dict[str, Any]],
                     counts: dict[str, int]) -> Page:
    """The leaderboard page of the language-model runs `runs` (every status) and their `stats`."""
    grid = collect(runs, stats)
    tabs = [(family, family_tab(family, grid)) for family in FAMILIES]
    tabs = [(name, html) for name, html in tabs if html] + [("runs", runs_tab(runs, counts))]
    tablist = "".join(f'<a href="#tab-{name}">{text(name)}</a>' for name, _ in tabs)
    scenarios = {k[:2] for cells in grid.models.values() for k in cells}
    summary = (f"{_count(len(grid.models), 'model')} on {_count(len(scenarios), 'scenario')}, "
               f"{_count(len(runs), 'run')}")
    body = (f"<h1>Language models</h1><p>{text(summary)}. Each cell: the value over the run's instances "
            "and its 95% bootstrap interval (hover for n); a value links to its run. The mean win rate is "
            "the fraction of other models beaten on each scenario's underlined metric, averaged over the "
            "scenarios. Click a column to sort it, best first.</p>"
            f'<div class="tabs"><nav class="tablist">{tablist}</nav>{"".join(html for _, html in tabs)}</div>'
            f'<h2>Accuracy against efficiency</h2><div class="plots">{efficiency_scatters(grid.models)}</div>')
    return Page(paths.LEADERBOARD, "Language models", body, summary=f"Leaderboard: {summary}.")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
