"""A stat's structured identity, its display name, which rows are details, and metric directions."""

from __future__ import annotations

import numpy as np
import pytest

from tony.annotations.multilabel.accuracy import annotation_stats, model_stats
from tony.core.metric_info import HIGHER, LOWER, UNORDERED, Direction, MetricInfo, best_at
from tony.core.stat_id import WORST_CASE, StatId, registered_metrics, stored_fields
from tony.core.stats import Stat, mean_stat
from tony.core.store_migrate import legacy_stat_fields
from tony.vision.breeds.study import aggregate as breeds_aggregate

NAMED = [
    (StatId("accuracy", "accuracy"), "accuracy"),
    (StatId("accuracy", "robustness", variant=WORST_CASE), "accuracy@robustness"),
    (StatId("accuracy", "robustness", variant="typos"), "accuracy@robustness:typos"),
    (StatId("accuracy", "fairness", variant="gender=female"), "accuracy@fairness:gender=female"),
    (StatId("accuracy", "fairness", variant="unperturbed"), "accuracy@fairness:unperturbed"),
    (StatId("accuracy_gap", "fairness", variant="gender"), "accuracy_gap@fairness:gender"),
    (StatId("nse", "accuracy", split="baseline:least_squares", at="10"), "nse@10"),
    (StatId("selective_accuracy", "calibration", at="0.5"), "selective_accuracy@0.5"),
]


@pytest.mark.parametrize(("stat_id", "name"), NAMED, ids=[name for _, name in NAMED])
def test_display_names_are_the_names_stores_have_always_used(stat_id: StatId, name: str):
    assert stat_id.name == name


@pytest.mark.parametrize(("stat_id", "name"), NAMED, ids=[name for _, name in NAMED])
def test_the_legacy_parser_reads_each_name_back_into_its_fields(stat_id: StatId, name: str):
    declared = registered_metrics()
    fields = legacy_stat_fields(name, declared)
    assert (fields["metric"], fields["family"], fields["variant"], fields["at"]) == (
        stat_id.metric, stat_id.family, stat_id.variant, stat_id.at)
    assert fields == stored_fields(stat_id, declared)


def test_details_are_one_draw_one_subgroup_or_one_perturbation():
    assert not StatId("accuracy").is_detail
    assert not StatId("accuracy", split="draws").is_detail
    assert not StatId("accuracy", split="baseline:chance").is_detail  # a reference predictor, not a breakdown
    assert not StatId("accuracy", "robustness", variant=WORST_CASE).is_detail
    assert not StatId("nse", at="3").is_detail
    assert not StatId("source_accuracy", split="last_layer").is_detail  # a BREEDS intervention
    assert StatId("accuracy", split="draw0").is_detail and StatId("accuracy", split="draw12").is_detail
    assert StatId("accuracy", subgroup="category=Age").is_detail
    assert StatId("accuracy", "robustness", variant="typos").is_detail
    assert StatId("accuracy", "robustness", variant="unperturbed").is_detail
    assert StatId("accuracy_gap", "fairness", variant="gender").is_detail


def test_directions_rank_larger_as_better():
    assert [HIGHER.rank(v) for v in (0.2, 0.7)] == [0.2, 0.7]
    assert [LOWER.rank(v) for v in (0.2, 0.7)] == [-0.2, -0.7]
    assert [best_at(0.0).rank(v) for v in (-0.1, 0.3, -0.3)] == [-0.1, -0.3, -0.3]
    assert best_at(1.0).rank(0.9) == pytest.approx(-0.1) and best_at(1.0).rank(1.0) == 0.0
    assert UNORDERED.rank(5.0) == 5.0 and not UNORDERED.ordered
    assert HIGHER.ordered and LOWER.ordered and best_at(0.0).ordered
    row = {"higher_is_better": None, "target": 0.0}
    assert Direction.of_row(row) == best_at(0.0)


def test_a_stats_name_must_match_its_fields():
    assert Stat("accuracy", 0.5, 0.4, 0.6, 10).id == StatId("accuracy")
    typos = Stat("accuracy@robustness:typos", 0.5, 0.4, 0.6, 10, metric="accuracy", family="robustness",
                 variant="typos")
    assert typos.id == StatId("accuracy", "robustness", variant="typos")
    with pytest.raises(ValueError, match="has the fields of 'accuracy@robustness:typos'"):
        Stat("accuracy", 0.5, 0.4, 0.6, 10, family="robustness", variant="typos")
    assert mean_stat("nse@2", [1.0, 3.0], split="s", metric="nse", at="2").id == StatId("nse", split="s", at="2")


def test_a_stat_comes_back_from_its_stored_row():
    stat = Stat("nse@4", 0.3, 0.2, 0.4, 12, "baseline:averaging", "", "nse", "accuracy", "", "4")
    row = {"name": "nse@4", "value": 0.3, "ci_low": 0.2, "ci_high": 0.4, "n": 12, "split": "baseline:averaging",
           "subgroup": "", **stored_fields(stat.id, registered_metrics())}
    assert Stat.from_row(row) == stat


def test_stored_fields_fill_the_family_and_direction_the_metric_declares():
    declared = {"acc": MetricInfo("accuracy", HIGHER), "bias": MetricInfo("bias", best_at(0.0))}
    assert stored_fields(StatId("acc"), declared) == {
        "metric": "acc", "family": "accuracy", "variant": "", "at": "", "higher_is_better": True, "target": None}
    assert stored_fields(StatId("acc", "robustness", variant=WORST_CASE), declared)["family"] == "robustness"
    assert stored_fields(StatId("bias"), declared)["target"] == 0.0
    unknown = stored_fields(StatId("mystery"), declared)
    assert (unknown["family"], unknown["higher_is_better"], unknown["target"]) == ("", None, None)


def test_breeds_and_multilabel_stats_are_of_registered_metrics():
    """The stats these studies compute from small hand-made records: each names a registered metric."""
    declared = registered_metrics()
    records = [{"item_id": f"i{i}", "side": side, "label": i % 2, "subclass": f"{side}{i % 2}",
                "predictions": {"baseline": i % 2, "last_layer": 0}}
               for i, side in enumerate(["source", "source", "target", "target"] * 2)]
    breeds = breeds_aggregate(records, seed=0)
    assert {s.metric for s in breeds} == {"source_accuracy", "target_accuracy", "gap", "subclass_accuracy",
                                          "source_gain", "target_gain"}
    images = [{"objects": k, "category": "fu", "main": 1, "label": 1 + (k > 1), "main_tied": False, "valid": [1],
               "superclass": "low", "models": {"m": {"top1": True, "top5": True, "multilabel_top1": k > 1,
                                                      "main_top1": True}}} for k in (1, 2, 3)]
    multilabel = annotation_stats(images) + model_stats(images, "m")
    assert {s.metric for s in [*breeds, *multilabel]} <= set(declared)
    assert np.isclose(next(s.value for s in multilabel if s.id == StatId("top1", split="m")), 1.0)
