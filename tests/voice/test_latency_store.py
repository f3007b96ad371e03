"""`tony voice latency --store`: the cascade timed for real (SmolLM2, Whisper base, espeak-ng) and kept as a run;
its stats are the summaries of its records, a second call reads it back, and the voice page shows it."""

from __future__ import annotations

import json

import pytest

from tony.cli import main
from tony.core.store import Store
from tony.voice.latency import CASCADE_STAGES
from tony.voice.latency_run import KIND
from tony.voice.report import voice_pages

pytestmark = pytest.mark.slow


def test_a_stored_latency_run_holds_its_measurements_and_their_summaries(tmp_path, capsys):
    store = str(tmp_path / "store")
    argv = ["voice", "latency", "--store", store, "--n", "2", "--format", "json", "--label", "test"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert "already stored" not in err
    [run] = Store(store).runs("complete", kind=KIND)
    records = Store(store).records(run["run_id"])
    assert [r["question"] for r in records] == [m["question"] for m in report["measurements"]]
    stats = {(s["name"], s["subgroup"]): s for s in Store(store).stats([run["run_id"]])}
    totals = [r["total_s"] for r in records]
    assert stats["latency_mean_s", ""]["value"] == pytest.approx(sum(totals) / 2)
    assert stats["latency_min_s", ""]["value"] == pytest.approx(min(totals))
    for stage in CASCADE_STAGES:
        assert stats["latency_mean_s", f"stage={stage}"]["value"] == pytest.approx(
            sum(r["stages"][stage] for r in records) / 2)
    assert main(argv) == 0  # measured once: read back, not timed again
    again, err = capsys.readouterr()
    assert "already stored" in err and json.loads(again)["measurements"] == report["measurements"]
    [page] = voice_pages(Store(store))
    assert "Response latency" in page.body and "first_token" in page.body
