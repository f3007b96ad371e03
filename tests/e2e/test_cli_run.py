"""`tony run`, `results` and `compare` end to end on the embedded model, and resuming after kill -9."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import CAPITALS, REPO, tony

pytestmark = pytest.mark.slow
SEPARATE = f"jsonl:path={CAPITALS},method=multiple_choice_separate"
CALIBRATED = f"jsonl:path={CAPITALS},method=multiple_choice_separate_calibrated"
TIMING_STATS = {"wall_s_per_instance", "wall_s_per_request", "tokens_per_second"}


def stored(store_dir: str, query: str) -> list[tuple]:
    with sqlite3.connect(Path(store_dir) / "tony.sqlite") as conn:
        return conn.execute(query).fetchall()


def results_json(store_dir: str, *extra: str) -> list[dict]:
    return json.loads(tony("results", "--store", store_dir, "--format", "json", *extra, check=True).stdout)


def test_run_results_and_compare(store_dir):
    done = tony("run", SEPARATE, CALIBRATED, "synthetic_induction:num_instances=4,max_tokens=8",
                "--store", store_dir, check=True)
    assert "store: sqlite:///" in done.stdout and "3 of 3 runs complete" in done.stdout
    rows = results_json(store_dir)
    assert {"run", "scenario", "model", "metric", "value", "ci_low", "ci_high", "n", "family", "variant",
            "higher_is_better"} <= set(rows[0])
    accuracy = [r for r in rows if r["metric"] == "accuracy" and not r["split"]]
    assert len(accuracy) == 2 and all(r["n"] == 24 and r["ci_low"] <= r["value"] <= r["ci_high"] for r in accuracy)
    assert all((r["family"], r["variant"], r["higher_is_better"]) == ("accuracy", None, True) for r in accuracy)
    # Without --all the reference predictors' rows are shown too: only per-draw, subgroup and perturbation ones go.
    assert {r["split"] for r in rows if r["metric"] == "accuracy"} == {"", "baseline:chance", "baseline:majority"}
    ece = next(r for r in rows if r["metric"] == "ece_10_bin")
    assert (ece["family"], ece["higher_is_better"]) == ("calibration", False)
    assert {r["metric"] for r in rows} >= {"exact_match", "quasi_exact_match", "f1", "ece_10_bin", "tokens_per_second"}
    # Every prompt and completion is kept.
    payload = json.loads(stored(store_dir, "select payload from records limit 1")[0][0])
    assert payload["exchanges"][0]["request"]["prompt"].startswith("Q: What is the capital")
    # Paired comparison of the two methods on the same 24 questions.
    run_a, run_b = accuracy[0]["run"], accuracy[1]["run"]
    compared = json.loads(tony("compare", run_a, run_b, "--store", store_dir, "--format", "json",
                               "--metric", "accuracy", check=True).stdout)["paired"][0]
    assert compared["n"] == 24 and compared["mcnemar_p"] is not None
    # Without --metric: every family, per-instance metrics paired, whole-run stats side by side.
    everything = json.loads(tony("compare", run_a, run_b, "--store", store_dir, "--format", "json", check=True).stdout)
    assert {c["family"] for c in everything["paired"]} >= {"accuracy", "efficiency"}
    unpaired = {c["metric"]: c for c in everything["unpaired"]}
    assert unpaired["ece_10_bin"]["family"] == "calibration"
    assert unpaired["ece_10_bin"]["difference"] == pytest.approx(
        unpaired["ece_10_bin"]["value_a"] - unpaired["ece_10_bin"]["value_b"])
    table = tony("compare", run_a, run_b, "--store", store_dir, check=True).stdout
    assert "whole-run stats" in table and "calibration" in table
    # CSV has the same rows; a rerun is answered from the store.
    csv_lines = tony("results", "--store", store_dir, "--format", "csv", check=True).stdout.strip().splitlines()
    assert len(csv_lines) == len(rows) + 1
    again = tony("run", SEPARATE, "--store", store_dir, check=True)
    assert "already stored" in again.stderr


def test_requests_already_answered_come_from_the_cache(store_dir):
    tony("run", SEPARATE, "--max-instances", "10", "--store", store_dir, check=True)
    tony("run", SEPARATE, "--store", store_dir, check=True)
    rows = stored(store_dir, "select r.payload from records r join runs u on u.run_id = r.run_id "
                             "where u.spec not like '%max_instances\": 10%'")
    cached = [json.loads(p)["exchanges"][0]["completion"]["cached"] for (p,) in rows]
    assert len(cached) == 24 and sum(cached) == 10


def test_kill_9_then_resume_equals_an_uninterrupted_run(tmp_path):
    killed, clean = str(tmp_path / "killed"), str(tmp_path / "clean")
    command = [sys.executable, "-m", "tony.cli", "run", SEPARATE, "--store", killed, "--batch-size", "2"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while time.time() < deadline:
        time.sleep(0.2)
        try:
            if stored(killed, "select count(*) from records")[0][0] >= 6:
                break
        except sqlite3.OperationalError:
            continue  # the store is still being created
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = stored(killed, "select count(*) from records")[0][0]
    assert 6 <= partial < 24, "the kill must land in the middle of the run"
    tony("run", SEPARATE, "--store", killed, "--batch-size", "2", check=True)
    tony("run", SEPARATE, "--store", clean, check=True)
    assert stored(killed, "select count(*), count(distinct item_id) from records") == [(24, 24)]
    resumed = {(r["metric"], r["value"], r["ci_low"], r["ci_high"], r["n"]) for r in results_json(killed)
               if r["metric"] not in TIMING_STATS}
    uninterrupted = {(r["metric"], r["value"], r["ci_low"], r["ci_high"], r["n"]) for r in results_json(clean)
                     if r["metric"] not in TIMING_STATS}
    assert resumed == uninterrupted


def test_two_processes_write_one_store_at_once(store_dir):
    runs = [SEPARATE, CALIBRATED]
    procs = [subprocess.Popen([sys.executable, "-m", "tony.cli", "run", entry, "--store", store_dir,
                               "--batch-size", "1"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for entry in runs]
    for proc in procs:
        assert proc.wait(timeout=900) == 0, proc.stderr.read()
    assert stored(store_dir, "select count(*), count(distinct run_id || item_id) from records") == [(48, 48)]
    assert stored(store_dir, "select status from runs") == [("complete",), ("complete",)]
    assert stored(store_dir, "pragma integrity_check") == [("ok",)]


def test_perturbed_run_stores_variants_and_reuses_cached_requests(store_dir):
    tony("run", SEPARATE, "--store", store_dir, check=True)
    entry = f"{SEPARATE},perturbations=lowercase+gender,max_perturbed=8"
    done = tony("run", entry, "--store", store_dir, check=True)
    assert "accuracy@robustness" in done.stdout and "accuracy@fairness" in done.stdout
    payloads = [json.loads(p) for (p,) in stored(
        store_dir, "select r.payload from records r join runs u on u.run_id = r.run_id "
                   "where u.spec like '%lowercase%'")]
    assert len(payloads) == 24 + 2 * 8
    originals = {(p["draw"], p["instance"]["id"]): p for p in payloads if not p["perturbation"]}
    lowered = [p for p in payloads if p["perturbation"] and p["perturbation"]["label"] == "lowercase"]
    assert len(originals) == 24 and len(lowered) == 8
    for variant in lowered:
        original = originals[(variant["draw"], variant["instance"]["id"])]
        assert variant["instance"]["input"] == original["instance"]["input"].lower()
        assert variant["exchanges"][0]["request"]["prompt"].endswith(variant["instance"]["input"] + "\nA:")
    # The plain run answered the originals already: the perturbed run took them from the cache.
    assert all(e["completion"]["cached"] for p in originals.values() for e in p["exchanges"])
    # The questions have no gendered words: the gender variants ask exactly what the originals asked.
    gendered = [p for p in payloads if p["perturbation"] and p["perturbation"]["name"] == "gender"]
    assert all(g["exchanges"][0]["request"] == originals[(g["draw"], g["instance"]["id"])]["exchanges"][0]["request"]
               for g in gendered)
    (run_id,) = stored(store_dir, "select run_id from runs where spec like '%lowercase%'")[0]
    rows = {(r["metric"], r["split"]): r for r in results_json(store_dir, "--all", "--run", run_id[:12])}
    assert rows["accuracy@robustness:lowercase", ""]["n"] == 8
    assert (rows["accuracy@robustness:lowercase", ""]["variant"], rows["accuracy@robustness", ""]["variant"]) == (
        "lowercase", "worst")
    headline = {(r["metric"], r["split"]) for r in results_json(store_dir, "--run", run_id[:12])}
    assert ("accuracy@robustness", "") in headline and ("accuracy@robustness:lowercase", "") not in headline
    worst, same_eight = rows["accuracy@robustness", ""], rows["accuracy@robustness:unperturbed", ""]
    assert worst["n"] == same_eight["n"] == 8 and worst["value"] <= same_eight["value"]
    assert rows["accuracy", "baseline:chance"]["value"] == pytest.approx(0.25)
