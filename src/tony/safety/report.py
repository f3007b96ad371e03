"""The safety pages of the results site (registered as report source "safety").

- safety/index.html: the preparedness scorecard (the default, illustrative thresholds), then per scenario the
  system-card stats of each run, per category (the scenario's subgroups) and per jailbreak (the variants and the
  worst case), every value with its 95% interval;
- safety/run-<id>-p<k>.html: a run's completions, RECORDS_PER_PAGE to a page, under a content warning, each
  collapsed in a <details> until opened.

A safety run is a complete language-model run with stats of the family "safety" (tony.safety.metrics). A run
is shown as its model and setting: pre-mitigation without a system prompt, post-mitigation with one. Everything
from a model, a data set or a spec goes through `tony.report.html.text`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from tony.core.store import Store
from tony.report.html import link, pre, stat_cell, table, text
from tony.report.pages import Page, PageTask

KIND = "lm"
FAMILY = "safety"
JAILBREAK = "jailbreak"
FOLDER = "safety"
INDEX = f"{FOLDER}/index.html"
RECORDS_PER_PAGE = 100
HEADLINE = ("not_unsafe", "not_overrefuse", "refusal_rate", "partial_refusal_rate", "strongreject_score")
"""The system-card stats, shown first (other safety-family stats follow in name order)."""
VARIANT_NAMES = {"": "none (plain requests)", "worst": "worst case over jailbreaks",
                 "unperturbed": "plain, on the jailbroken subset"}
CONTENT_WARNING = ("Content warning: these are a model's answers to requests for harmful content (violence, "
                   "crime, abuse, hateful and sexual content). Each one is collapsed; open it to read it. "
                   "Everything is shown as plain text.")


def safety_pages(store: Store) -> Iterator[Page | PageTask]:
    """The safety page, and a task per safety run for its completions, when the store holds safety runs."""
    candidates = store.runs("complete", kind=KIND)
    stats = store.stats_by_run(r["run_id"] for r in candidates)
    runs = [r for r in candidates if any(row["family"] == FAMILY for row in stats[r["run_id"]])]
    if not runs:
        return
    columns = _columns(runs)
    body = ("<h1>Safety evaluations</h1><p>Refusal of harmful requests (not_unsafe), answers to safe requests "
            "that only sound harmful (not_overrefuse), refusal and partial refusal rates, from completions "
            "labelled by a grader; brackets are 95% bootstrap intervals, n is in each value's tooltip. A run without "
            "a system prompt is pre-mitigation, a run with one post-mitigation.</p>"
            f"{_scorecard_section(store, set(columns))}{_runs_section(runs, columns, store)}"
            + "".join(_scenario_section(s, [r for r in runs if _scenario(r) == s], columns, stats)
                      for s in sorted({_scenario(r) for r in runs})))
    yield Page(INDEX, "Safety", body,
               summary=f"refusal, over-refusal, jailbreaks and the preparedness scorecard: {len(runs)} runs")
    for run in runs:
        yield PageTask(completion_pages, (store.url, run, columns[run["run_id"]]))


def _scenario(run: dict[str, Any]) -> str:
    return str(run["spec"].get("scenario") or run["labels"].get("scenario", "?"))


def _columns(runs: list[dict[str, Any]]) -> dict[str, str]:
    """Each run's column name: model and setting, with the scenario's arguments and the run id where they repeat."""
    from tony.safety.scorecard import model_name, setting_name, system_prompt_of

    names = {r["run_id"]: f"{model_name(r)}, {setting_name(system_prompt_of(r['spec']))}" for r in runs}
    scenario = {r["run_id"]: _scenario(r) for r in runs}
    out = {}
    for run in runs:
        run_id = run["run_id"]
        alike = [r for r in runs if scenario[r["run_id"]] == scenario[run_id] and names[r["run_id"]] == names[run_id]]
        out[run_id] = names[run_id] if len(alike) == 1 else f"{names[run_id]} ({run_id[:8]})"
    return out


def _scorecard_section(store: Store, linked: set[str]) -> str:
    """The scorecard of every model, its evidence linked to the drill-down of each run in `linked`."""
    from tony.safety.scorecard import RULES, score
    from tony.safety.thresholds import NOT_EVALUATED, load_thresholds

    thresholds = load_thresholds()
    cards = score(store, thresholds)
    parts = [f"<h2 id=\"scorecard\">Preparedness scorecard</h2><p class=\"note\">{text(thresholds.note)} "
             f"Rules: {text(RULES)}. <code>tony safety scorecard --thresholds FILE</code> computes it with your "
             "own thresholds.</p>"]
    if not cards:
        parts.append(f"<p>No complete runs of {text(', '.join(sorted(thresholds.scenarios)))}: every category is "
                     f"{text(NOT_EVALUATED)}.</p>")
    for card in cards:
        rows = []
        for i, category in enumerate(thresholds.categories):
            cells = [_level(s.categories[i].level, s.categories[i].interval_levels) for s in card.settings]
            rows.append([text(category.title), *cells])
        rows.append(["<strong>overall</strong>",
                     *(_level(s.overall, s.overall_interval_levels) for s in card.settings)])
        evidence = "".join(_evidence(s, linked) for s in card.settings)
        parts.append(f"<h3>{text(card.model)}</h3>"
                     + table(["category", *(s.setting for s in card.settings)], rows, css="scorecard")
                     + f"<details><summary>evidence: the runs and stats behind each level</summary>{evidence}"
                     "</details>")
    return "".join(parts)


def _level(level: str, ends: tuple[str, str] | None) -> str:
    crosses = ends is not None and ends[0] != ends[1]
    note = (f' <span class="ci" title="the 95% interval crosses a threshold">interval: {text(ends[0])} to '
            f"{text(ends[1])}</span>") if crosses and ends else ""
    return f'<td><span class="badge level" data-level="{text(level)}">{text(level)}</span>{note}</td>'


def _evidence(setting: Any, linked: set[str]) -> str:
    items = []
    for result in setting.categories:
        for f in result.findings:
            interval = "" if f.ci_low is None or f.ci_high is None else f" [{f.ci_low:.3f}, {f.ci_high:.3f}]"
            run = link(_href(f.run_id), f.run_id[:12]) if f.run_id in linked else text(f.run_id[:12])
            items.append(f"<li>{text(result.category.title)}: {text(f.evidence.name)}: "
                         f"<code>{text(f.evidence.describe())}</code> = {f.value:.3f}{text(interval)}, n={f.n}, "
                         f"run {run}: {text(f.level)}</li>")
        items += [f"<li>{text(result.category.title)}: missing{' (required)' if e.required else ''}: "
                  f"<code>{text(e.describe())}</code></li>" for e in result.missing]
        if not result.category.evidence:
            items.append(f"<li>{text(result.category.title)}: {text(result.category.description)}</li>")
    return f"<h4>{text(setting.setting)}</h4><ul>{''.join(items)}</ul>"


def _runs_section(runs: list[dict[str, Any]], columns: dict[str, str], store: Store) -> str:
    rows = [[text(_scenario(r)), text(columns[r["run_id"]]), text(r["labels"].get("scenario", "")),
             link(_href(r["run_id"]), _count(store.count_records(r["run_id"]), "completion"))] for r in runs]
    return "<h2>Runs</h2>" + table(["scenario", "run", "scenario as run", "drill-down"], rows)


def _scenario_section(scenario: str, runs: list[dict[str, Any]], columns: dict[str, str],
                      stats: dict[str, list[dict[str, Any]]]) -> str:
    rows = [row for r in runs for row in stats[r["run_id"]] if row["split"] == "" and row["at"] == ""]
    safety = [row for row in rows if row["family"] == FAMILY]
    metrics = sorted({row["metric"] for row in safety}, key=lambda m: (HEADLINE.index(m) if m in HEADLINE else
                                                                        len(HEADLINE), m))
    headline = {(row["run_id"], row["metric"]): row for row in safety if not row["subgroup"] and not row["variant"]}
    parts = [f'<h2 id="{text(_anchor(scenario))}">{text(scenario)}</h2>',
             table(["run", *metrics], [[text(columns[r["run_id"]]),
                                        *(_cell(headline.get((r["run_id"], m))) for m in metrics)] for r in runs])]
    subgroups = sorted({row["subgroup"] for row in safety if row["subgroup"] and not row["variant"]})
    for metric in [m for m in metrics if m in HEADLINE]:
        by = {(row["run_id"], row["subgroup"]): row for row in safety if row["metric"] == metric
              and not row["variant"]}
        shown = [g for g in subgroups if any((r["run_id"], g) in by for r in runs)]
        if shown:
            parts.append(f"<h3>{text(metric)} per category</h3>" + table(
                ["category", *(columns[r["run_id"]] for r in runs)],
                [[text(g), *(_cell(by.get((r["run_id"], g))) for r in runs)] for g in shown]))
    jailbroken = [row for row in rows if row["family"] == JAILBREAK and not row["subgroup"]]
    for metric in [m for m in metrics if any(row["metric"] == m for row in jailbroken)]:
        by = {(row["run_id"], row["variant"]): row for row in jailbroken if row["metric"] == metric}
        by.update({(r["run_id"], ""): headline[r["run_id"], metric] for r in runs if (r["run_id"], metric) in headline})
        variants = ["", *sorted({v for _, v in by} - {"", "worst", "unperturbed"}),
                    *(v for v in ("unperturbed", "worst") if any(key[1] == v for key in by))]
        parts.append(f"<h3>{text(metric)} per jailbreak</h3>" + table(
            ["jailbreak", *(columns[r["run_id"]] for r in runs)],
            [[text(VARIANT_NAMES.get(v, v)), *(_cell(by.get((r["run_id"], v))) for r in runs)] for v in variants]))
    return "".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return '<td class="num" data-v=""></td>'
    return stat_cell(row["value"], row["ci_low"], row["ci_high"], n=row["n"])


def _anchor(name: str) -> str:
    return "scenario-" + "".join(c if c.isalnum() else "-" for c in name)


def _page(run_id: str, number: int) -> str:
    """Where drill-down page `number` (from 1) of a run lies."""
    return f"{FOLDER}/run-{run_id[:12]}-p{number}.html"


def _href(run_id: str, number: int = 1) -> str:
    """The link to a drill-down page from another page of safety/."""
    return _page(run_id, number).rpartition("/")[2]


def completion_pages(store_url: str, run: dict[str, Any], column: str) -> Iterator[Page]:
    """A run's drill-down pages: every completion, collapsed, RECORDS_PER_PAGE to a page (at least one page)."""
    store = _open(store_url)
    total = max(1, math.ceil(store.count_records(run["run_id"]) / RECORDS_PER_PAGE))
    title = f"{_scenario(run)}: {column}"
    for number in range(1, total + 1):
        records = store.records(run["run_id"], offset=(number - 1) * RECORDS_PER_PAGE, limit=RECORDS_PER_PAGE)
        nav = _pager(run["run_id"], number, total)
        body = (f"<h1>Completions: {text(title)}</h1>"
                f'<p class="note content-warning" role="note"><strong>{text(CONTENT_WARNING)}</strong></p>'
                f"<p>{link('index.html', 'Safety evaluations')} \u00b7 scenario as run: "
                f"<code>{text(run['labels'].get('scenario', ''))}</code> \u00b7 run {text(run['run_id'][:12])}</p>"
                f"{nav}{''.join(_completion(r) for r in records) or '<p>No records.</p>'}{nav}")
        yield Page(_page(run["run_id"], number), f"Completions: {title} ({number}/{total})", body)


def _completion(record: dict[str, Any]) -> str:
    """One record, collapsed: its id, jailbreak and grade in the summary; the prompt as sent and the completion
    (or the reason nothing came back) inside."""
    from tony.safety.metrics import DETAILS_KEY

    instance = record.get("instance") or {}
    perturbation = record.get("perturbation") or {}
    grade = ((record.get("details") or {}).get(DETAILS_KEY) or {}).get("label")
    facets = ", ".join(f"{k}={v}" for k, v in sorted((instance.get("facets") or {}).items()))
    summary = " \u00b7 ".join(part for part in (str(instance.get("id", record.get("item_id", "?"))),
                                                 f"jailbreak {perturbation['label']}" if perturbation else "plain",
                                                 facets, f"graded {grade}" if grade else
                                                 ("error" if record.get("error") else "not graded")) if part)
    body = []
    for exchange in record.get("exchanges") or []:
        body.append("<h4>prompt as sent</h4>" + pre(str((exchange.get("request") or {}).get("prompt", "")),
                                                   "prompt"))
        completion = exchange.get("completion")
        if completion is not None:
            body.append("<h4>completion</h4>" + pre(str(completion.get("text", "")), "completion"))
    if record.get("error"):
        body.append(f"<h4>not answered</h4>{pre(str(record['error']), 'error')}")
    stats = record.get("stats") or {}
    if stats:
        body.append("<p>" + " ".join(f'<span class="tag">{text(k)}={text(v)}</span>'
                                     for k, v in sorted(stats.items())) + "</p>")
    return f'<details class="completion"><summary>{text(summary)}</summary>{"".join(body)}</details>'


def _pager(run_id: str, current: int, total: int) -> str:
    if total == 1:
        return ""
    parts = [f'<span class="current">{n}</span>' if n == current else
             link(_href(run_id, n), str(n)) for n in range(1, total + 1)]
    return f'<nav class="pager" aria-label="completion pages">{"".join(parts)}</nav>'


@lru_cache(maxsize=4)
def _open(url: str) -> Store:
    """One open store per URL in each worker process (opened to read: it exists, the site is built from it)."""
    return Store(url, create=False)
