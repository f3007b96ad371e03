"""The priors study end to end on a tiny world: methods, records and stats, the report page, the CLI and its errors,
and resumption after kill -9."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from tony.cli import main
from tony.core.store import Store
from tony.vision.priors.report import pages
from tony.vision.priors.study import PriorsStudySpec, aggregate, run_study

TINY = {"setting": {"labeled": 16, "unlabeled": 32, "test": 16, "spurious": 1.0,
                    "world": {"size": 16, "min_scale": 0.6, "max_scale": 0.9}},
        "train": {"steps": 4, "width": 4, "batch_size": 8}, "rounds": 2}


def study(method: str, **fields):
    return PriorsStudySpec.parse({**TINY, "method": method, **fields})


@pytest.fixture(scope="module")
def store_url(tmp_path_factory):
    return str(tmp_path_factory.mktemp("priors") / "store")


@pytest.fixture(scope="module")
def co_trained(store_url):
    return run_study(study("co_train"), store_url)


def test_co_training_stores_every_round_and_its_pseudo_labels(co_trained, store_url):
    assert co_trained.status == "complete", co_trained.error
    records = Store(store_url).records(co_trained.run_id)
    tests = [r for r in records if r["set"] == "test"]
    rounds = [r for r in records if r["set"] == "round"]
    assert len(tests) == 16 and len([r for r in records if r["set"] == "conflict"]) == 16
    assert set(tests[0]["predictions"]) == {"edges", "bagnet", "ensemble"}
    assert all(len(seed) == 3 for r in tests for seed in r["predictions"]["edges"])  # rounds 0, 1, 2
    # round r pseudo-labels a fraction 0.5 r / 2 of 32 images, up to 4 r / ... per class of 4
    assert {(r["model"], r["round"]) for r in rounds} == {(m, k) for m in ("edges", "bagnet") for k in (1, 2)}
    assert all(n <= 4 * r["round"] * 2 and 0 <= right <= n for r in rounds for n, right in r["pseudo"])
    stats = {(s.name, s.split, s.subgroup): s for s in co_trained.stats}
    for model in ("edges", "bagnet", "ensemble"):
        hits = np.mean([r["predictions"][model][0][-1] == r["label"] for r in tests])
        accuracy = stats[("accuracy", model, "")]
        assert (accuracy.value, accuracy.n) == (pytest.approx(hits), 16)
        assert stats[("accuracy@2", model, "")].value == pytest.approx(hits)
        assert 0.0 <= stats[("shape_bias", model, "")].value <= 1.0
    first = rounds[0]
    n, right = first["pseudo"][0]
    pseudo = stats[(f"pseudo_label_accuracy@{first['round']}", first["model"], "")]
    assert (pseudo.value, pseudo.n) == (pytest.approx(right / n), n)


def test_zero_rounds_of_co_training_are_the_single_prior_models(co_trained, store_url):
    single = run_study(study("single"), store_url)
    zero = run_study(study("co_train", rounds=0), store_url)
    store = Store(store_url)

    def predictions(run_id, model):
        return [r["predictions"][model] for r in sorted(store.records(run_id), key=lambda r: r["item_id"])
                if r["set"] == "test"]

    for model in ("edges", "bagnet"):
        first_round = [[seed[0]] for seed in (p[0] for p in predictions(co_trained.run_id, model))]
        assert predictions(zero.run_id, model) == predictions(single.run_id, model) == [[p] for p in first_round]


def test_ensemble_and_the_combined_step(co_trained, store_url):
    ensemble = run_study(study("ensemble"), store_url)
    assert {s.split for s in ensemble.stats} == {"ensemble"}
    combined = run_study(study("co_train_combined"), store_url)
    assert combined.status == "complete", combined.error
    assert {s.split for s in combined.stats} == {"combined"}
    self_trained = run_study(study("self_train", rounds=1), store_url)
    assert {s.split for s in self_trained.stats if s.name == "pseudo_label_accuracy@1"} == {"edges", "bagnet"}


def test_aggregate_by_hand():
    records = [{"item_id": f"test-{i}", "set": "test", "label": i % 2, "cue": 0,
                "predictions": {"m": [[0, i % 2], [1, 1]]}} for i in range(4)]  # seed 0 all right, seed 1 half
    stats = {(s.name, s.subgroup): s for s in aggregate(records)}
    assert stats[("accuracy", "")].value == 0.75 and stats[("accuracy@0", "")].value == 0.5
    spread = stats[("accuracy_over_seeds", "")]
    assert (spread.value, spread.n, spread.split) == (0.75, 2, "m") and spread.ci_low < 0.5
    # cue 0 agrees with label 0 (seed 0 right, seed 1 wrong); label 1 images are right on both seeds
    assert stats[("accuracy", "cue=aligned")].n == 2 and stats[("accuracy", "cue=aligned")].value == 0.5
    assert stats[("accuracy", "cue=other")].value == 1.0


def test_the_report_page(co_trained, store_url):
    run_study(study("single"), store_url)  # the shape-bias bars are the single priors' (stored once per module)
    (page,) = list(pages(Store(store_url)))
    assert page.path == "priors/index.html" and "world · 16 labeled · p = 1.0" in page.body
    assert "co_train" in page.body and "pseudo-label accuracy per round" in page.body
    assert page.body.count("<svg") >= 3  # shape bias bars, accuracy over rounds, pseudo-label accuracy


def test_settings_that_differ_in_object_textures_or_training_get_their_own_sections(tmp_path):
    store = str(tmp_path / "store")
    textured = {**TINY["setting"], "object_textures": ["road", "water", "bricks", "dots"], "object_tie": 1.0}
    for spec in (study("single"), study("single", setting=textured),
                 study("single", train={**TINY["train"], "width": 6})):
        assert run_study(spec, store).status == "complete"
    (page,) = list(pages(Store(store)))
    headings = re.findall(r"<h2>([^<]*)</h2>", page.body)
    assert [h for h in headings if h.startswith("world")] == [
        "world · 16 labeled · p = 1.0 · object textures road+water+bricks+dots, q = 1 · width 4, 4 steps",
        "world · 16 labeled · p = 1.0 · width 4, 4 steps", "world · 16 labeled · p = 1.0 · width 6, 4 steps"]


def test_the_cli_prints_json_and_a_table(co_trained, store_url, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TONY_PROGRESS", "0")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(TINY))
    assert main(["priors", "run", "--spec", str(spec), "--store", store_url, "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["run"] == co_trained.run_id  # the default method and priors: the same spec, reused
    assert set(printed["models"]) == {"edges", "bagnet", "ensemble"}
    assert main(["priors", "run", "--spec", str(spec), "--store", store_url, "--priors", "shape+texture"]) == 0
    assert "shape bias" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "message"), [
    (["--priors", "shape+fourier"], "unknown prior 'fourier'"),
    (["--spurious", "1.2"], "spurious correlation p must be in [0, 1]"),
    (["--spurious", "-0.5"], "must be in [0, 1], got -0.5"),
    (["--dataset", "fashion-mnist", "--labeled", "70000"], "Fashion-MNIST has 60,000 training"),
    (["--priors", "shape", "--method", "co_train"], "co_train needs at least two priors"),
    (["--spec", "missing.yaml"], "spec file not found"),
    (["--object-textures", "road+water+snow+dots"], "share snow: a texture must tell either"),
    (["--object-textures", "road+water+lava+dots"], "unknown foreground texture 'lava'"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["priors", "run", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


KILLED = """
import sys
sys.path.insert(0, {tests!r})
from test_priors_study import study
from tony.vision.priors.study import run_study
run_study(study("co_train", train={{"steps": 100, "width": 4, "batch_size": 8}}), {store!r})
"""


def checkpoint_files(store_dir: str) -> int:
    folder = os.path.join(store_dir, "artifacts")
    return sum(len(files) for _, _, files in os.walk(folder)) if os.path.isdir(folder) else 0


@pytest.mark.slow
def test_co_training_killed_with_sigkill_resumes_to_the_same_predictions(tmp_path):
    spec = study("co_train", train={"steps": 100, "width": 4, "batch_size": 8})
    store_dir = str(tmp_path / "killed")
    process = subprocess.Popen([sys.executable, "-c", KILLED.format(tests=os.path.dirname(__file__), store=store_dir)],
                               env={**os.environ, "TONY_PROGRESS": "0"})
    try:  # wait until round 1 is being trained (a third model has a checkpoint), then kill -9
        while process.poll() is None and checkpoint_files(store_dir) < 3:
            time.sleep(0.1)
    finally:
        process.kill()
        process.wait()
    run = Store(store_dir).run(spec.key())
    assert run is None or run["status"] != "complete", "the child should have been killed mid-study"
    resumed = run_study(spec, store_dir)
    straight = run_study(spec, str(tmp_path / "straight"))
    assert resumed.status == straight.status == "complete"
    assert [(s.name, s.split, s.value) for s in resumed.stats] == [(s.name, s.split, s.value) for s in straight.stats]


@pytest.mark.skipif(not os.path.isdir("/usr/share/datasets/fashion-mnist"), reason="needs dataset-fashion-mnist")
def test_fashion_mnist_with_its_mark(tmp_path):
    spec = PriorsStudySpec.parse({"setting": {"dataset": "fashion-mnist", "labeled": 20, "unlabeled": 40, "test": 20},
                                  "train": {"steps": 4, "width": 4, "batch_size": 8}, "method": "self_train",
                                  "rounds": 1})
    result = run_study(spec, str(tmp_path / "store"))
    assert result.status == "complete", result.error
    records = Store(str(tmp_path / "store")).records(result.run_id)
    assert len([r for r in records if r["set"] == "test"]) == 20 and not [r for r in records if r["set"] == "conflict"]
    assert not [s for s in result.stats if s.name == "shape_bias"]  # no cue-conflict images off the world
