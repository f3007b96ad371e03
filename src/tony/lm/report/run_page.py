"""A language-model run's page: its spec, every stat (all splits and subgroups) and its plots.

It links to the drill-down; it never embeds the records themselves. Records that are errors (a request
too long for the context, or refused by the server) are counted in its facts, as the stat n_errors is.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from tony.lm.report import paths
from tony.lm.report.instances import GROUPS_PER_PAGE, RunRecords
from tony.lm.report.plots import calibration_plot, perturbation_plot
from tony.report.html import link, number, pre, stat_cell, table, text
from tony.report.pages import Page


def _when(timestamp: float | None) -> str:
    return "" if timestamp is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def _errors(count: int) -> str:
    """How many records are errors (not answered), as n_errors counts them, and where to see why."""
    return f"{count} (not answered; the reason is on each instance)" if count else "0"


def run_page(run: dict[str, Any], stats: Sequence[dict[str, Any]], records: RunRecords) -> Page:
    run_id, labels = run["run_id"], run["labels"]
    what = " \u00b7 ".join(str(labels.get(k, "")) for k in ("scenario", "model", "method"))
    groups = len(records.groups)
    pages = -(-groups // GROUPS_PER_PAGE)
    facts = [("run", run_id), ("status", run["status"]), ("created", _when(run["created_at"])),
             ("finished", _when(run["finished_at"])), ("wall time", f"{number(run['wall_s'])} s"),
             ("records", f"{records.count} ({groups} instances, {records.count - groups} perturbed variants)"),
             ("errors", _errors(records.errors))]
    facts_html = "".join(f"<dt>{text(k)}</dt><dd>{text(v)}</dd>" for k, v in facts)
    error = f"<h2>Error</h2>{pre(run['error'])}" if run.get("error") else ""
    drill = (f"<p>{link(paths.href(paths.instances_page(run_id, 1)), f'Instances: {groups} in {pages} pages')}"
             " \u2014 every prompt as sent, every completion, the perturbed variants beside their original.</p>"
             if groups else '<p class="muted">No records stored.</p>')
    plots = calibration_plot(records.calibration) + perturbation_plot(stats)
    rows = [[text(s["name"]), text(s["family"]), text(s["split"]), text(s["subgroup"]),
             stat_cell(s["value"], s["ci_low"], s["ci_high"], n=s["n"]),
             f'<td class="num" data-v="{s["n"]}">{s["n"]}</td>'] for s in stats]
    stats_html = (table(["metric", "family", "split", "subgroup", "value [95% CI]", "n"], rows)
                  if rows else '<p class="muted">No stats (the run is not complete).</p>')
    body = (f"<h1>{text(what)}</h1>"
            f'<dl class="facts">{facts_html}</dl>{error}{drill}'
            + (f'<h2>Plots</h2><div class="plots">{plots}</div>' if plots else "")
            + f"<h2>Stats</h2>{stats_html}"
            f"<h2>Spec</h2>{pre(json.dumps(run['spec'], indent=1, ensure_ascii=False))}")
    return Page(paths.run_page(run_id), what, body)
