"""Evaluation through the kernel's runner: specs, records, stats per position, the report and the CLI."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET

import pytest

from tony.cli import main
from tony.core.errors import SpecError, UnknownComponentError
from tony.core.runner import execute
from tony.core.store import Store
from tony.icl import api
from tony.icl.presets import PRESETS
from tony.icl.report import icl_pages
from tony.icl.study import ICLEvalSpec, default_baselines
from tony.icl.train import ICLTrainSpec, train
from tony.report.site import page_sources

TRAIN = {"function_class": "linear", "dims": 3, "model_size": "tiny", "steps": 3, "batch_size": 4,
         "curriculum": {"dims_start": 3, "dims_end": 3, "points_start": 8, "points_end": 8}}


def eval_spec(**changes) -> ICLEvalSpec:
    return ICLEvalSpec.parse({"train": TRAIN, "n_prompts": 12, **changes})


def test_defaults_are_resolved_into_the_spec_so_equal_work_has_one_key():
    spec = eval_spec()
    assert spec.n_points == 8 and spec.baselines == ("least_squares", "averaging", "nearest_neighbors")
    assert spec.key() == eval_spec(n_points=8, baselines=list(spec.baselines)).key()
    assert spec.key() != eval_spec(distribution="skewed_covariance").key()
    assert "lasso" in default_baselines("sparse_linear") and "gd_network" in default_baselines("relu_2nn")
    assert "greedy_tree" in default_baselines("decision_tree")


def test_impossible_evaluations_are_spec_errors():
    with pytest.raises(SpecError, match="cannot evaluate prompts of 9 points: the model has 16 positions"):
        eval_spec(n_points=9)
    with pytest.raises(SpecError, match="unknown prompt distribution 'sideways'"):
        eval_spec(distribution="sideways")
    with pytest.raises(SpecError, match="needs scale="):
        eval_spec(distribution="scaled_inputs")
    with pytest.raises(UnknownComponentError, match="unknown baseline 'oracle'"):
        eval_spec(baselines=["oracle"])
    with pytest.raises(SpecError, match="orthogonal_query"):
        eval_spec(distribution="orthogonal_query")  # 8 points cannot be orthogonal in d=3


def test_a_run_stores_every_prediction_and_a_curve_per_predictor(store: Store):
    spec = eval_spec()
    result = execute(spec.task(store), store, batch_size=5)
    assert result.status == "complete", result.error
    records = store.records(result.run_id)
    assert len(records) == 12 and records[0]["item_id"] == "prompt-00000"
    assert set(records[0]["predictions"]) == {"", "baseline:least_squares", "baseline:averaging",
                                              "baseline:nearest_neighbors"}
    assert len(records[0]["targets"]) == 8
    curves = api.curves(result.stats)
    assert set(curves) == set(records[0]["predictions"]) and list(curves[""]) == list(range(8))
    least_squares = curves["baseline:least_squares"]
    assert least_squares[3].value < 1e-6 and least_squares[7].n == 12  # exact from d = 3 examples on
    assert all(s.ci_low <= s.value <= s.ci_high for by_k in curves.values() for s in by_k.values())
    at_zero = {split: by_k[0].value for split, by_k in curves.items() if split}
    assert len(set(at_zero.values())) == 1  # every baseline predicts 0 from no examples
    whole = [s for s in result.stats if s.name == "nse"]
    assert len(whole) == 4 and all(s.n == 12 for s in whole)


def test_prompts_do_not_depend_on_how_items_are_batched(store: Store):
    task = eval_spec().task(store)
    together = dict(task.process(["prompt-00002", "prompt-00005"]))
    alone = dict(task.process(["prompt-00005"]))
    assert together["prompt-00005"]["targets"] == alone["prompt-00005"]["targets"]
    assert together["prompt-00005"]["predictions"][""] == pytest.approx(alone["prompt-00005"]["predictions"][""],
                                                                         rel=1e-5, abs=1e-6)


def test_shifted_queries_are_scored_one_position_at_a_time(store: Store):
    result = execute(eval_spec(distribution="random_orthant", n_prompts=4).task(store), store)
    assert result.status == "complete", result.error
    assert all(math.isfinite(s.value) for s in result.stats)


def test_the_model_is_trained_once_and_reused_by_every_evaluation(tmp_path):
    store = Store(str(tmp_path))
    first = list(api.evaluate(api.eval_specs(ICLTrainSpec.parse(TRAIN), ["standard", "skewed_covariance"],
                                             n_prompts=3), str(tmp_path)))
    assert [r.status for r in first] == ["complete", "complete"]
    assert train(ICLTrainSpec.parse(TRAIN), store).seconds == 0.0  # loaded from its checkpoint artifact
    again = list(api.evaluate(api.eval_specs(ICLTrainSpec.parse(TRAIN), ["standard"], n_prompts=3), str(tmp_path)))
    assert again[0].reused


def test_the_report_plots_every_evaluation(tmp_path):
    store = Store(str(tmp_path))
    for distribution in ("standard", "half_subspace"):
        assert execute(eval_spec(distribution=distribution, n_prompts=4).task(store), store).status == "complete"
    assert icl_pages in page_sources()
    [page] = list(icl_pages(store))
    assert page.path == "icl/index.html" and page.summary
    svgs = [ET.fromstring(svg) for svg in re.findall(r"<svg.*?</svg>", page.body)]  # each well-formed
    assert len(svgs) == 2
    lines = svgs[0].findall(".//{http://www.w3.org/2000/svg}polyline")
    bands = svgs[0].findall(".//{http://www.w3.org/2000/svg}polygon")
    assert len(lines) == len(bands) == 4  # transformer and three baselines
    assert list(icl_pages(Store(str(tmp_path / "empty")))) == []


def test_cli_eval_prints_a_table_or_json(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TONY_PROGRESS", "0")
    (tmp_path / "eval.json").write_text(json.dumps({"train": TRAIN, "n_prompts": 3, "n_points": 4}))
    assert main(["icl", "eval", "--spec", "eval.json"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert "n = 3 prompts" in table[0] and table[1].split()[:3] == ["k", "transformer", "least_squares"]
    assert len(table) == 2 + 4 + 1
    assert main(["icl", "eval", "--spec", "eval.json", "--format", "json"]) == 0
    [run] = json.loads(capsys.readouterr().out)
    assert set(run["curves"]) == {"transformer", "baseline:least_squares", "baseline:averaging",
                                  "baseline:nearest_neighbors"}
    assert main(["icl", "presets"]) == 0 and "cpu-linear" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["linear", "sparse", "relu_2nn", "decision_tree"])
def test_each_paper_preset_evaluates_with_its_baselines(name, tmp_path):
    quick = {**PRESETS[name].train.model_dump(), "steps": 1, "batch_size": 2, "model_size": "tiny"}
    spec = ICLEvalSpec.parse({"train": quick, "n_prompts": 2, "n_points": 5})
    store = Store(str(tmp_path))
    result = execute(spec.task(store), store)
    assert result.status == "complete", result.error
    assert {s.split for s in result.stats} == {"", *(f"baseline:{b}" for b in default_baselines(
        PRESETS[name].train.function_class))}
