"""Robustness / fairness worst case, group gaps, baselines, families and the paired compare,
checked against values counted by hand."""

from __future__ import annotations

import math

import pytest

from tony.core.metric_info import HIGHER, UNORDERED, MetricInfo, best_at
from tony.core.metric_info import LOWER as LOWER_IS_BETTER
from tony.core.stat_id import WORST_CASE, StatId, registered_metrics
from tony.core.stats import mean_win_rate
from tony.lm.compare import compare_records, instance_values
from tony.lm.metrics.baselines import baseline_stats
from tony.lm.metrics.perturbed import perturbation_stats
from tony.lm.record import AppliedPerturbation, Exchange, LMRecord
from tony.lm.types import CORRECT_TAG, Completion, Instance, Reference, Request


def record(iid: str, accuracy: float, perturbation: tuple[str, str, str] | None = None, *, draw: int = 0,
           references: list[tuple[str, bool]] = (("a", True), ("b", False))) -> LMRecord:
    refs = tuple(Reference(o, (CORRECT_TAG,) if c else ()) for o, c in references)
    exchange = Exchange(Request("Q: ?\nA:", continuations=(" a", " b")), Completion(processed_tokens=10, wall_s=0.5))
    applied = None if perturbation is None else AppliedPerturbation(*perturbation)
    return LMRecord(Instance(iid, "?", refs), draw, applied, exchanges=(exchange,), stats={"accuracy": accuracy})


TYPOS = ("typos", "typos", "robustness")
LOWER = ("lowercase", "lowercase", "robustness")
FEMALE = ("gender", "gender=female", "fairness")
MALE = ("gender", "gender=male", "fairness")


def by_name(stats):
    return {s.name: s for s in stats}


def test_worst_case_counts_an_instance_only_if_every_variant_is_right():
    records = [
        record("1", 1), record("1", 1, TYPOS), record("1", 0, LOWER),   # worst 0
        record("2", 1), record("2", 1, TYPOS), record("2", 1, LOWER),   # worst 1
        record("3", 0), record("3", 1, TYPOS), record("3", 1, LOWER),   # the original is wrong: worst 0
    ]
    stats = by_name(perturbation_stats(records))
    assert stats["accuracy@robustness"].value == pytest.approx(1 / 3)
    assert stats["accuracy@robustness"].n == 3
    assert stats["accuracy@robustness:typos"].value == 1.0
    assert stats["accuracy@robustness:lowercase"].value == pytest.approx(2 / 3)
    assert "accuracy@robustness:unperturbed" not in stats  # every instance was perturbed
    assert stats["accuracy@robustness"].id == StatId("accuracy", "robustness", variant=WORST_CASE)
    assert stats["accuracy@robustness:typos"].id == StatId("accuracy", "robustness", variant="typos")


def test_a_perturbed_subset_gets_its_unperturbed_reference():
    records = [record("1", 1), record("1", 0, TYPOS), record("2", 1), record("3", 0)]
    stats = by_name(perturbation_stats(records))
    assert stats["accuracy@robustness"].value == 0 and stats["accuracy@robustness"].n == 1
    assert stats["accuracy@robustness:unperturbed"].value == 1 and stats["accuracy@robustness:unperturbed"].n == 1
    assert stats["accuracy@robustness:unperturbed"].id == StatId("accuracy", "robustness", variant="unperturbed")


def test_fairness_gap_is_max_minus_min_over_targets_with_a_paired_interval():
    records = []
    for i, (f, m) in enumerate([(1, 0), (1, 1), (0, 0), (1, 0)]):
        records += [record(str(i), 1), record(str(i), f, FEMALE), record(str(i), m, MALE)]
    stats = by_name(perturbation_stats(records))
    assert stats["accuracy@fairness:gender=female"].value == 0.75
    assert stats["accuracy@fairness:gender=male"].value == 0.25
    gap = stats["accuracy_gap@fairness:gender"]
    assert gap.value == pytest.approx(0.5) and gap.n == 4
    assert 0 <= gap.ci_low <= gap.value <= gap.ci_high <= 1
    assert stats["accuracy@fairness"].value == 0.25
    assert gap.id == StatId("accuracy_gap", "fairness", variant="gender")
    assert stats["accuracy@fairness:gender=male"].id == StatId("accuracy", "fairness", variant="gender=male")


def test_baselines_chance_and_majority():
    records = [
        record("1", 1, references=[("yes", True), ("no", False)]),
        record("2", 0, references=[("yes", True), ("no", False)]),
        record("3", 0, references=[("no", True), ("yes", False)]),
        record("4", 0, references=[("x", True), ("y", False), ("z", False), ("w", False)]),
        record("1", 0, TYPOS, references=[("no", True), ("yes", False)]),  # variants are not counted
    ]
    chance, chance_mass, majority = baseline_stats(records, multiple_choice=True)
    assert chance.split == "baseline:chance" and chance.value == pytest.approx((0.5 * 3 + 0.25) / 4)
    assert (chance_mass.name, chance_mass.value) == ("correct_mass", chance.value)  # even spread, same number
    # "yes" is the most common correct answer: right on 1 and 2, wrong on 3, and absent from 4 (chance there).
    assert majority.split == "baseline:majority" and majority.value == pytest.approx((1 + 1 + 0 + 0.25) / 4)
    (generation,) = baseline_stats(records[:3], multiple_choice=False)
    assert generation.name == "exact_match" and generation.value == pytest.approx(2 / 3)


def test_families_and_directions_are_declared_where_metrics_are_registered():
    declared = registered_metrics()
    assert declared["accuracy"] == MetricInfo("accuracy", HIGHER)
    assert declared["ece_10_bin"] == MetricInfo("calibration", LOWER_IS_BETTER)
    assert declared["selective_accuracy"] == MetricInfo("calibration", HIGHER)
    assert declared["accuracy_gap"] == MetricInfo("fairness", LOWER_IS_BETTER)
    assert declared["bbq_bias_ambiguous"] == MetricInfo("bias", best_at(0.0))
    assert declared["toxic_fraction"] == MetricInfo("toxicity", LOWER_IS_BETTER)
    assert declared["tokens_per_second"] == MetricInfo("efficiency", HIGHER)
    efficiency = MetricInfo("efficiency", LOWER_IS_BETTER)
    assert declared["wall_s_per_instance"] == declared["prompt_tokens_per_instance"] == efficiency
    assert declared["demographic_representation_gender"] == MetricInfo("bias", LOWER_IS_BETTER)
    # BBQ's bias score is signed: -0.1 beats +0.3 and -0.3 alike.
    bbq = declared["bbq_bias_ambiguous"].direction
    assert bbq.rank(-0.1) > bbq.rank(0.3) and bbq.rank(-0.1) > bbq.rank(-0.3)
    assert HIGHER.rank(0.6) > HIGHER.rank(0.5) and LOWER_IS_BETTER.rank(0.1) > LOWER_IS_BETTER.rank(0.2)


def test_mean_win_rate_by_hand():
    table = {"a": {"x": 1.0, "y": 0.5}, "b": {"x": 0.5, "y": 0.5}, "c": {"x": 0.2, "y": math.nan}}
    assert mean_win_rate(table) == {"a": 0.75, "b": 0.5, "c": 0.0}
    assert mean_win_rate(table, {"x": LOWER_IS_BETTER, "y": LOWER_IS_BETTER}) == {"a": 0.25, "b": 0.5, "c": 1.0}
    # Each column by its own direction: on x the closest to 0.45 wins (b 0.05 away, c 0.25, a 0.55); a and b tie on y.
    assert mean_win_rate(table, {"x": best_at(0.45), "y": HIGHER}) == {"a": 0.25, "b": 0.75, "c": 0.5}
    # A column of a metric without an order does not count: only y is left, where a and b tie.
    assert mean_win_rate(table, {"x": UNORDERED}) == {"a": 0.5, "b": 0.5}
    assert mean_win_rate({"only": {"x": 1.0}}) == {}


def test_compare_pairs_worst_case_per_instance():
    a = [record("1", 1), record("1", 0, TYPOS), record("2", 1), record("2", 1, TYPOS)]
    b = [record("1", 1), record("1", 1, TYPOS), record("2", 0), record("2", 1, TYPOS)]
    values = instance_values(a)
    assert values["accuracy@robustness"] == {"0:1": 0, "0:2": 1}
    assert values["accuracy"] == {"0:1": 1, "0:2": 1}
    compared = {c.metric: c for c in compare_records(a, b)}
    assert compared["accuracy"].mean_a == 1 and compared["accuracy"].mean_b == 0.5
    assert compared["accuracy@robustness"].mean_a == 0.5 and compared["accuracy@robustness"].mean_b == 0.5
    assert compared["accuracy@robustness:typos"].a_only == 0 and compared["accuracy@robustness:typos"].b_only == 1
    assert compared["processed_tokens_per_instance"].difference == 0
