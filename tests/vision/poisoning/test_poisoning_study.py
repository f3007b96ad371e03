"""The study end to end on a tiny generated world: records and stats, a defense sweep that reuses the trained
victim, the CLI's JSON, the site page, and a grid killed with SIGKILL that resumes to the same numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tony.cli import main
from tony.core.checkpoints import checkpoint_name
from tony.core.store import Store
from tony.vision.poisoning.grid import grid_specs
from tony.vision.poisoning.report import pages
from tony.vision.poisoning.study import run_study

TINY = ["--train-images", "160", "--test-images", "60", "--epochs", "2"]
BASE = {"data": {"train_images": 160, "clean_images": 40, "test_images": 60},
        "train": {"width": 4, "epochs": 2}, "defense_options": {}}


def tiny(defenses: list[str], **threat) -> dict:
    return {**BASE, "defenses": defenses, "threat": {"fraction": 0.1, **threat},
            "defense_options": {d: {"epochs": 1} for d in defenses if d in ("finetune", "fine_pruning")}}


def test_a_run_stores_every_variant_and_a_defense_sweep_reuses_the_victim(tmp_path):
    store = Store(str(tmp_path))
    first = grid_specs(tiny(["spectral", "strip"]), ["badnets"], [None], [0])[0]
    result = run_study(first, str(tmp_path))
    assert result.status == "complete", result.error
    names = {(s.split, s.name) for s in result.stats}
    for variant in ("clean", "none", "spectral", "strip"):
        assert {(variant, "c_acc"), (variant, "asr"), (variant, "r_acc")} <= names
    assert {("spectral", "filter_tpr"), ("spectral", "der"), ("strip", "strip_far")} <= names
    tpr = next(s for s in result.stats if s.name == "filter_tpr")
    assert tpr.n == 16  # 10% of 160 training images
    victim = first.victim_spec(10, {"poison": first.poison_identity()})
    made = store.latest_artifact(checkpoint_name(victim))
    assert made is not None
    sweep = grid_specs(tiny(["finetune"]), ["badnets"], [None], [0])[0]
    assert sweep.key() != first.key()
    again = run_study(sweep, str(tmp_path))
    assert again.status == "complete" and {s.split for s in again.stats} == {"clean", "none", "finetune"}
    assert store.latest_artifact(checkpoint_name(victim)).created_at == made.created_at  # not trained again
    undefended = {s.name: s.value for s in result.stats if s.split == "none"}
    assert undefended == {s.name: s.value for s in again.stats if s.split == "none" and s.name in undefended}
    page = next(pages(store))
    assert page.path == "poisoning/index.html" and "badnets: originals (left) and poisons (right)" in page.body
    assert "data:image/png;base64," in page.body and "<svg" in page.body


def test_cli_json_has_one_row_per_variant_with_means_over_seeds(capsys, tmp_path):
    code = main(["poison", "run", "--store", str(tmp_path), *TINY, "--width", "4", "--defense", "spectral",
                 "--seeds", "2", "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0
    rows = json.loads(out)["rows"]
    assert [r["variant"] for r in rows] == ["clean", "none", "spectral"]
    assert all(r["seeds"] == 2 and r["c_acc"]["n"] == 2 and r["c_acc"]["over"] == "seeds" for r in rows)


GRID = """
from tony.cli import main
main(["poison", "run", "--store", {store!r}, "--train-images", "160", "--test-images", "60", "--epochs", "3",
      "--width", "4", "--fraction", "0.05", "--fraction", "0.1", "--defense", "spectral", "--format", "json"])
"""


@pytest.mark.slow
def test_a_grid_killed_with_sigkill_resumes_to_the_same_numbers(tmp_path, capsys):
    killed = str(tmp_path / "killed")
    process = subprocess.Popen([sys.executable, "-c", GRID.format(store=killed)], stdout=subprocess.DEVNULL,
                               env={**os.environ, "TONY_PROGRESS": "0", "OMP_NUM_THREADS": "1"})
    try:
        while process.poll() is None and not Store(killed).runs("complete"):
            time.sleep(0.2)
    finally:
        process.kill()
        process.wait()
    assert len(Store(killed).runs("complete")) == 1, "the child should have been killed in the grid's second run"
    args = ["poison", "run", *TINY[:4], "--epochs", "3", "--width", "4", "--fraction", "0.05", "--fraction", "0.1",
            "--defense", "spectral", "--format", "json"]
    assert main([*args, "--store", killed]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert main([*args, "--store", str(tmp_path / "straight")]) == 0
    straight = json.loads(capsys.readouterr().out)
    assert resumed["runs"] == 2 and resumed["rows"] == straight["rows"]
