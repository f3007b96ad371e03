"""The voice page of the results site (registered as report source "voice"): voice/index.html.

- Word error rate of Whisper base on each run's spoken prompts, per voice and condition (`word_error_rate` of the
  speech channel), with its 95% bootstrap interval;
- text against speech: each metric of a speech-channel run on its text instances and on each spoken variant,
  with the paired difference (speech minus text, over the instances evaluated both ways, paired bootstrap) read
  from the run's records;
- response latency of each stored `tony voice latency --store` run: min / mean / p50 / p95 of the total and of
  each stage with intervals, a plot of the mean per stage, and the GPT-4o system card's figures as reference
  rows, labelled as quoted from the card.

A speech-channel run is a complete language-model run with stats of the family "speech". Everything from a model,
a data set or a spec goes through `tony.report.html.text`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from tony.core.stat_id import WORST_CASE
from tony.core.stats import paired_bootstrap
from tony.core.store import Store
from tony.report.html import stat_cell, table, text
from tony.report.pages import Page
from tony.report.svg import Bar, interval_bars
from tony.voice.channel import SPEECH, WER_METRIC
from tony.voice.latency import CARD_REFERENCE, CASCADE_STAGES, SUMMARIES, URL_STAGES
from tony.voice.latency_run import KIND as LATENCY_KIND
from tony.voice.latency_run import STAGE, TOTAL, metric_name

INDEX = "voice/index.html"
CLEAN = "clean"
"""The condition of a variant heard without noise or phone line."""
STAGE_ORDER = {stage: i for i, stage in enumerate(dict.fromkeys((*CASCADE_STAGES, *URL_STAGES)))}
"""Stages in the order a question goes through them."""
CARD_SOURCE = "quoted from the GPT-4o system card, not measured here"


def voice_pages(store: Store) -> Iterator[Page]:
    """The voice page, when the store holds speech-channel runs or latency runs."""
    candidates = store.runs("complete", kind="lm")
    stats = store.stats_by_run(r["run_id"] for r in candidates)
    speech = [r for r in candidates if any(row["family"] == SPEECH for row in stats[r["run_id"]])]
    latency = store.runs("complete", kind=LATENCY_KIND)
    if not speech and not latency:
        return
    latency_stats = store.stats_by_run(r["run_id"] for r in latency)
    body = ("<h1>Voice</h1><p>Text scenarios heard through speech (<code>channel=speech</code> in a run entry: the "
            "prompt spoken by espeak-ng voices, clean or through noise or a phone line, heard by Whisper base or sent "
            "as audio to a model that hears), and the response latency of spoken conversations. Brackets are 95% "
            "bootstrap intervals; n is in each value's tooltip.</p>"
            + _wer_section(speech, stats) + _text_and_speech_section(store, speech, stats)
            + _latency_section(latency, latency_stats))
    yield Page(INDEX, "Voice", body, summary=f"speech channel and response latency: {len(speech)} speech runs, "
               f"{len(latency)} latency runs")


def voice_and_condition(label: str) -> tuple[str, str]:
    """A speech variant's label ("en-gb/10dB-white") as (voice, condition): the first part, and the rest
    ("clean" where there is none)."""
    voice, _, condition = label.partition("/")
    return voice, condition or CLEAN


def _run_name(run: dict[str, Any]) -> str:
    labels = run["labels"]
    return f"{labels.get('scenario', '?')}, {labels.get('model', '?')} ({run['run_id'][:8]})"


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return '<td class="num" data-v=""></td>'
    return stat_cell(row["value"], row["ci_low"], row["ci_high"], n=row["n"])


def _overall(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows over all instances of every draw (no split, subgroup or curve point)."""
    return [r for r in rows if not r["split"] and not r["subgroup"] and not r["at"]]


def _wer_section(runs: list[dict[str, Any]], stats: dict[str, list[dict[str, Any]]]) -> str:
    rows = []
    for run in runs:
        for row in sorted((r for r in _overall(stats[run["run_id"]]) if r["metric"] == WER_METRIC),
                          key=lambda r: voice_and_condition(r["variant"])):
            voice, condition = voice_and_condition(row["variant"])
            rows.append([text(_run_name(run)), text(voice), text(condition), _cell(row)])
    if not rows:
        return ("<h2>Word error rate</h2><p>No run heard its prompts through Whisper (a model that hears audio is "
                "sent the audio itself).</p>")
    return ("<h2>Word error rate</h2><p>Whisper base's word errors in the heard prompt over the prompt's words "
            "(substitutions, deletions and insertions, after normalization), per voice and condition.</p>"
            + table(["run", "voice", "condition", WER_METRIC], rows))


def paired_differences(records: list[dict[str, Any]], *, seed: int = 0) -> dict[tuple[str, str], tuple[
        float, float, float, int]]:
    """(metric, speech variant label) -> (mean of speech minus text, interval low, high, pairs) over the answered
    instances evaluated both as text and as that variant (paired bootstrap)."""
    text_stats: dict[tuple[int, str], dict[str, float]] = {}
    spoken: dict[tuple[str, str], list[tuple[tuple[int, str], float]]] = defaultdict(list)
    for record in records:
        if record.get("error"):
            continue
        key = (int(record.get("draw", 0)), str(record["instance"]["id"]))
        perturbation = record.get("perturbation")
        if perturbation is None:
            text_stats[key] = record.get("stats") or {}
        elif perturbation.get("family") == SPEECH:
            for metric, value in (record.get("stats") or {}).items():
                spoken[metric, perturbation["label"]].append((key, value))
    out = {}
    for (metric, label), values in sorted(spoken.items()):
        pairs = [(value, text_stats[key][metric]) for key, value in values if metric in text_stats.get(key, {})]
        if pairs:
            diff, low, high, _ = paired_bootstrap([p[0] for p in pairs], [p[1] for p in pairs], seed=seed)
            out[metric, label] = (diff, low, high, len(pairs))
    return out


def _text_and_speech_section(store: Store, runs: list[dict[str, Any]], stats: dict[str, list[dict[str, Any]]]) -> str:
    parts = ["<h2>Text and speech</h2><p>Each metric on the text instances, on each spoken variant of them, and the "
             "paired difference (speech minus text) over the instances evaluated both ways.</p>"]
    for run in runs:
        rows = _overall(stats[run["run_id"]])
        text_rows = {r["metric"]: r for r in rows if not r["variant"] and r["family"] != SPEECH}
        variants = [r for r in rows if r["family"] == SPEECH and r["metric"] != WER_METRIC
                    and r["variant"] not in ("", WORST_CASE, "unperturbed")]
        if not variants:
            continue
        seed = int((run.get("spec") or {}).get("seed", 0) or 0)
        paired = paired_differences(store.records(run["run_id"]), seed=seed)
        table_rows = []
        for row in sorted(variants, key=lambda r: (r["metric"], voice_and_condition(r["variant"]))):
            voice, condition = voice_and_condition(row["variant"])
            diff = paired.get((row["metric"], row["variant"]))
            table_rows.append([text(row["metric"]), text(voice), text(condition), _cell(text_rows.get(row["metric"])),
                               _cell(row), _difference_cell(diff)])
        parts.append(f"<h3>{text(_run_name(run))}</h3>" + table(
            ["metric", "voice", "condition", "text", "speech", "speech \u2212 text (paired)"], table_rows))
    return "".join(parts) if len(parts) > 1 else ""


def _difference_cell(diff: tuple[float, float, float, int] | None) -> str:
    if diff is None:
        return '<td class="num" data-v=""></td>'
    value, low, high, n = diff
    return stat_cell(value, low, high, n=n)


def _latency_section(runs: list[dict[str, Any]], stats: dict[str, list[dict[str, Any]]]) -> str:
    if not runs:
        return ""
    parts = ["<h2>Response latency</h2><p>From the end of the user's speech (as the end-of-speech detector decides) "
             "to the first byte of the spoken answer, in seconds, and each stage on the way (<code>tony voice "
             "latency --store</code>). The reference rows are " + text(CARD_SOURCE) + ".</p>"]
    for run in runs:
        by = {(r["metric"], r["subgroup"]): r for r in stats[run["run_id"]]}
        stages = [""] + sorted({r["subgroup"] for r in stats[run["run_id"]] if r["subgroup"].startswith(STAGE)},
                               key=lambda g: STAGE_ORDER.get(g.removeprefix(STAGE), len(STAGE_ORDER)))
        rows = [[text(g.removeprefix(STAGE) or TOTAL), *(_cell(by.get((metric_name(s), g))) for s in SUMMARIES)]
                for g in stages]
        rows += [[text(f"{label} ({CARD_SOURCE})"), *(
            f'<td class="num reference">{seconds:.3f}</td>' if s == _reference_column(label)
            else '<td class="num" data-v=""></td>' for s in SUMMARIES)] for label, seconds in CARD_REFERENCE]
        bars = [Bar(g.removeprefix(STAGE) or TOTAL, *_mean(by.get((metric_name("mean"), g)))) for g in stages]
        bars += [Bar(f"{label} (card)", seconds, math.nan, math.nan, css="base") for label, seconds in CARD_REFERENCE
                 if "mean" in label]
        labels = run["labels"]
        title = f"{labels.get('method', '?')}, {labels.get('model', '?')}, voice {labels.get('voice', '?')}"
        title += f", {labels['label']}" if labels.get("label") else ""
        parts.append(f"<h3>{text(title)} ({text(run['run_id'][:8])})</h3>"
                     + table(["stage", *SUMMARIES], rows)
                     + interval_bars(bars, title="mean seconds per stage", axis_label="seconds"))
    return "".join(parts)


def _reference_column(label: str) -> str:
    """Where a figure quoted from the card goes: its fastest response under min, its means under mean."""
    return "min" if label.endswith("fastest") else "mean"


def _mean(row: dict[str, Any] | None) -> tuple[float, float, float]:
    return (math.nan, math.nan, math.nan) if row is None else (row["value"], row["ci_low"], row["ci_high"])
