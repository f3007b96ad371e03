"""The voice page of the results site, from stores written with the Store API: word error rate per voice and
condition, text against speech with the paired difference recomputed by hand, latency with the card's figures
as labelled reference rows, everything escaped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tony.core.registry import registry
from tony.core.stats import Stat
from tony.core.store import Store
from tony.report import build_site
from tony.voice.latency import Measurement
from tony.voice.latency_run import KIND, latency_stats
from tony.voice.report import INDEX, paired_differences, voice_and_condition, voice_pages

sys.path.insert(0, str(Path(__file__).parents[1] / "safety"))
from test_safety_pages import parsed, table_after  # noqa: E402 (the safety pages' table reader)

sys.path.insert(0, str(Path(__file__).parents[1] / "report"))
from lm_runs import add_lm_run, lm_record  # noqa: E402

HOSTILE = '"><img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><!--'
TEXT = [1, 1, 0, 1]
SPOKEN = {"en-us": [1, 0, 0, 1], f"en-gb/10dB-{HOSTILE}": [0, 0, 0, 1]}


def speech_records() -> list[tuple[str, dict]]:
    """Four instances as text and as two spoken variants, their accuracy 0/1 as in TEXT and SPOKEN."""
    records = []
    for i, value in enumerate(TEXT):
        records.append((f"0:i{i}", _accuracy(lm_record(f"i{i}", f"question {i}"), value)))
        for label, values in SPOKEN.items():
            variant = lm_record(f"i{i}", f"heard {i}", perturbation={"name": "speech", "label": label,
                                                                      "family": "speech"})
            records.append((f"0:i{i}#{label}", _accuracy(variant, values[i])))
    records.append(("0:i9#en-us", {**lm_record("i9", "x", perturbation={"name": "speech", "label": "en-us",
                                                                         "family": "speech"}), "error": "too long"}))
    return records


def _accuracy(record: dict, value: int) -> dict:
    return {**record, "stats": {"accuracy": float(value)}}


def wer(label: str, value: float) -> Stat:
    return Stat(f"word_error_rate@speech:{label}", value, value - 0.05, value + 0.05, 4, metric="word_error_rate",
                family="speech", variant=label)


def accuracy(value: float, label: str = "") -> Stat:
    if not label:
        return Stat("accuracy", value, value - 0.2, min(1.0, value + 0.2), 4)
    return Stat(f"accuracy@speech:{label}", value, 0.0, 1.0, 4, metric="accuracy", family="speech", variant=label)


MEASURED = [Measurement(f"q{i}", "", "", {"endpoint": 0.2, "transcribe": 0.5 + i / 10, "first_token": 0.1,
                                          "first_clause": 0.1, "synthesis": 0.05}, 0.95 + i / 10) for i in range(3)]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(str(tmp_path / "store"))
    stats = [accuracy(0.75), wer("en-us", 0.1), wer(f"en-gb/10dB-{HOSTILE}", 0.4),
             *(accuracy(sum(v) / 4, label) for label, v in SPOKEN.items())]
    add_lm_run(store, scenario=f"mmlu {HOSTILE}", model="m", method="multiple_choice_joint",
               records=speech_records(), stats=stats)
    add_lm_run(store, scenario="plain", model="m", records=[("0:a", lm_record("a", "q"))], stats=[accuracy(1.0)],
               salt="no speech")
    store.begin_run("l" * 64, KIND, {"pipeline": "cascade"}, {"model": HOSTILE, "method": "cascade", "voice": "en-us"})
    store.finish_run("l" * 64, latency_stats(MEASURED), wall_s=3.0)
    return store


def test_paired_differences_are_speech_minus_text_over_the_answered_pairs():
    diffs = paired_differences([r for _, r in speech_records()])
    mean, low, high, n = diffs["accuracy", "en-us"]
    assert (mean, n) == (pytest.approx(-0.25), 4)  # (0 + -1 + 0 + 0) / 4; the unanswered i9 has no pair
    assert low <= mean <= high
    assert diffs["accuracy", f"en-gb/10dB-{HOSTILE}"][0] == pytest.approx(-0.5)


def test_the_page_shows_word_error_rate_text_and_speech_and_latency(store: Store):
    [page] = voice_pages(store)
    assert (page.path, page.title) == (INDEX, "Voice") and page.summary.endswith("1 speech runs, 1 latency runs")
    html = page.body
    rows = table_after(html, "<h2>Word error rate")
    assert rows[0] == ["run", "voice", "condition", "word_error_rate"]
    assert [r[1:] for r in rows[1:]] == [["en-gb", f"10dB-{HOSTILE}", "0.400[0.350, 0.450]"],
                                         ["en-us", "clean", "0.100[0.050, 0.150]"]]
    paired = table_after(html, "<h2>Text and speech")
    assert paired[0] == ["metric", "voice", "condition", "text", "speech", "speech \u2212 text (paired)"]
    assert [r[:5] for r in paired[1:]] == [
        ["accuracy", "en-gb", f"10dB-{HOSTILE}", "0.750[0.550, 0.950]", "0.250[0.000, 1.000]"],
        ["accuracy", "en-us", "clean", "0.750[0.550, 0.950]", "0.500[0.000, 1.000]"]]
    assert [r[5].split("[")[0] for r in paired[1:]] == ["-0.500", "-0.250"]
    latency = table_after(html, "<h2>Response latency")
    assert [r[0] for r in latency] == ["stage", "total", "endpoint", "transcribe", "first_token", "first_clause",
                                       "synthesis", *(f"{label} (quoted from the GPT-4o system card, not measured "
                                                      "here)" for label in ("GPT-4o, audio in and out: mean",
                                                                            "GPT-4o, audio in and out: fastest",
                                                                            "Voice Mode, GPT-3.5 pipeline: mean",
                                                                            "Voice Mode, GPT-4 pipeline: mean"))]
    assert latency[0] == ["stage", "min", "mean", "p50", "p95"]
    assert latency[1][1].startswith("0.950") and latency[1][2].startswith("1.050")  # total: min, mean of 0.95..1.15
    assert latency[3][2].startswith("0.600")  # transcribe's mean
    assert latency[8][1:] == ["0.232", "", "", ""]  # the fastest response under min
    assert "<svg" in html and "mean seconds per stage" in html
    assert "<script>window" not in html and "<img" not in html
    assert "plain" not in html  # a run without speech stats is not a voice run


def test_the_page_is_built_into_the_site_and_registered(store: Store, tmp_path: Path):
    assert registry.get("report", "voice") is voice_pages
    build_site(store, tmp_path / "site", sources=[voice_pages], workers=1)
    html = (tmp_path / "site" / INDEX).read_text(encoding="utf-8")
    assert '<a href="../voice/index.html" aria-current="page">Voice</a>' in html
    assert parsed(html).tables and "&lt;script&gt;" in html and "<script>window" not in html


def test_no_voice_runs_no_page(tmp_path: Path):
    store = Store(str(tmp_path / "store"))
    add_lm_run(store, scenario="plain", model="m", stats=[accuracy(1.0)])
    assert list(voice_pages(store)) == []


def test_a_label_names_its_voice_and_condition():
    assert voice_and_condition("en-gb") == ("en-gb", "clean")
    assert voice_and_condition("en-us/200wpm/10dB-babble/telephone") == ("en-us", "200wpm/10dB-babble/telephone")
