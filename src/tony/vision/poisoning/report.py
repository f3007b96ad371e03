"""The poisoning page of the results site (registered as report source "vision-poisoning").

poisoning/index.html: per dataset, the grid as a table (attack, budget, regime, variant: C-Acc, ASR, R-Acc, DER,
filter TPR and FPR, target success; one seed's 95% bootstrap interval, or several seeds' mean with a t interval),
a plot of the undefended ASR against the poison fraction per attack (with the interval band), and per attack a
few poisoned training images beside their clean originals. Reads only the store (no torch).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tony.core.stats import Stat
from tony.core.store import Store
from tony.report.html import pre, stat_cell, table, text
from tony.report.pages import Page, grouped_runs
from tony.report.svg import Series, line_plot
from tony.vision.poisoning.grid import summarize, variant_order
from tony.vision.poisoning.metrics import NO_DEFENSE
from tony.vision.poisoning.spec import KIND

PATH = "poisoning/index.html"
COLUMNS = (("c_acc", "C-Acc"), ("asr", "ASR"), ("r_acc", "R-Acc"), ("der", "DER"), ("filter_tpr", "filter TPR"),
           ("filter_fpr", "filter FPR"), ("target_success", "target success"))


def pages(store: Store) -> Iterator[Page]:
    """The poisoning page, when the store holds complete poisoning runs."""
    by_dataset, stats = grouped_runs(store, KIND, lambda run: str(run["labels"].get("dataset", "?")))
    if not by_dataset:
        return
    sections = [_section(name, group, stats, store) for name, group in by_dataset.items()]
    body = ("<h1>Dataset poisoning and backdoors</h1>"
            "<p>Each run poisons part of a training set under a threat model, trains the victim, and applies "
            "every defense to that same victim. C-Acc: clean test accuracy; ASR: triggered test images of other "
            "classes sent to the target; R-Acc: triggered images still classified correctly; DER: (max(0, dASR) - "
            "max(0, dC-Acc) + 1) / 2 against the undefended victim (0.5: no change, 1: backdoor gone at no cost). "
            "Variant <em>clean</em> is the same recipe trained without poisons, <em>none</em> the undefended "
            "victim. Brackets: 95% bootstrap intervals over test images for one seed, t intervals over seeds for "
            f"several.</p>{''.join(sections)}")
    yield Page(PATH, "Poisoning and backdoors", body,
               summary=f"attacks x defenses, C-Acc, ASR and DER: {len(stats)} runs")


def _section(dataset: str, runs: list[dict[str, Any]], stats: dict[str, list[dict[str, Any]]], store: Store) -> str:
    rows = summarize([(run["labels"], [Stat.from_row(s) for s in stats[run["run_id"]]]) for run in runs])
    rows.sort(key=lambda r: (r["attack"], r.get("regime", ""), r["fraction"], variant_order(r["variant"])))
    cells = [[text(r["attack"]), text(_budget(r)), text(r.get("regime", "")), text(r["variant"]), text(r["seeds"]),
              *(_cell(r.get(name)) for name, _ in COLUMNS)] for r in rows]
    headers = ["attack", "budget", "regime", "variant", "seeds", *(title for _, title in COLUMNS)]
    series = []
    for attack in sorted({r["attack"] for r in rows}):
        points = sorted((r["fraction"], r["asr"]) for r in rows
                        if r["attack"] == attack and r["variant"] == NO_DEFENSE and "asr" in r and r.get("count")
                        is None)
        if points:
            series.append(Series(attack, [p[0] for p in points], [p[1]["value"] for p in points],
                                 [p[1]["ci_low"] for p in points], [p[1]["ci_high"] for p in points]))
    plot = line_plot(series, title=f"{dataset}: undefended ASR against poison fraction", x_label="poison fraction",
                     y_label="ASR", y_max=1.0) if series else ""
    return (f"<h2>{text(dataset)}</h2><div class=\"plots\">{plot}</div>{table(headers, cells)}"
            f"{_examples(runs, store)}<details><summary>study spec (first run)</summary>"
            f"{pre(json.dumps(runs[0]['spec'], indent=1))}</details>")


def _examples(runs: list[dict[str, Any]], store: Store) -> str:
    """Per attack, the poisons of its first run beside their originals."""
    shown: dict[str, str] = {}
    for run in sorted(runs, key=lambda r: r["run_id"]):
        attack = str(run["labels"].get("attack"))
        if attack in shown:
            continue
        record = _examples_record(store, run["run_id"])
        pairs = "".join(
            f'<figure><img alt="original" width="56" height="56" src="data:image/png;base64,{text(p["original"])}">'
            f'<img alt="poisoned" width="56" height="56" src="data:image/png;base64,{text(p["poisoned"])}">'
            f"<figcaption>{text(p['label'])} &rarr; {text(p['poison_label'])}</figcaption></figure>"
            for p in record.get("pairs", []))
        shown[attack] = f"<h3>{text(attack)}: originals (left) and poisons (right)</h3><div>{pairs}</div>"
    return "".join(shown[a] for a in sorted(shown))


def _examples_record(store: Store, run_id: str) -> dict[str, Any]:
    """The run's "examples" record: stored last, so read from the end; a scan if a resumed run stored it earlier."""
    last = store.records(run_id, offset=max(0, store.count_records(run_id) - 1))
    if last and last[0]["item_id"] == "examples":
        return last[0]
    return next((r for r in store.records(run_id) if r["item_id"] == "examples"), {})


def _budget(row: dict[str, Any]) -> str:
    return str(row["count"]) if row.get("count") is not None else f"{row['fraction']:g}"


def _cell(stat: dict[str, Any] | None) -> str:
    if stat is None:
        return "<td></td>"
    return stat_cell(stat["value"], stat["ci_low"], stat["ci_high"], n=stat["n"])
