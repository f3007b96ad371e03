"""DER, ASR, R-Acc, C-Acc, filter rates and STRIP's rates on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tony.vision.poisoning.metrics import der, filter_stats, image_stats, over_seeds, target_stats


def test_der_on_hand_cases():
    assert der(0.95, 0.0, 0.90, 0.90) == pytest.approx(0.975)  # backdoor gone, accuracy kept
    assert der(0.95, 0.95, 0.90, 0.90) == 0.5  # nothing changed
    assert der(0.95, 0.0, 0.90, 0.50) == pytest.approx((0.95 - 0.40 + 1) / 2)
    assert der(0.50, 0.80, 0.90, 0.95) == 0.5  # a worse ASR and a better C-Acc both count as zero
    assert np.allclose(der(np.array([1.0, 0.2]), np.array([0.0, 0.2]), 0.9, 0.9), [1.0, 0.5])


def test_filter_rates_from_a_filters_counts():
    from tony.vision.poisoning.study import filter_counts

    removed = np.array([1, 1, 0, 1, 0, 0], bool)
    poisoned = np.array([1, 1, 1, 0, 0, 0], bool)
    assert filter_counts("spectral", removed, poisoned) == {"defense": "spectral", "poisons": 3, "poisons_removed": 2,
                                                            "clean": 3, "clean_removed": 1}
    stats = {s.name: s for s in filter_stats({"defense": "spectral", "poisons": 3, "poisons_removed": 2, "clean": 3,
                                              "clean_removed": 1}, seed=0)}
    assert stats["filter_tpr"].value == pytest.approx(2 / 3) and stats["filter_tpr"].n == 3
    assert stats["filter_fpr"].value == pytest.approx(1 / 3) and stats["filter_tpr"].split == "spectral"


def record(label, clean, triggered, backdoor=3, rejected=None):
    row = {"label": label, "eligible": label != 3, "backdoor": backdoor, "clean": clean, "triggered": triggered}
    row["rejected"] = rejected or {}
    return row


def test_asr_counts_only_other_classes_and_der_uses_the_undefended_victim():
    records = [  # four test images: labels 0, 1, 2, 3 (target 3 is not eligible for ASR)
        record(0, {"none": 0, "spectral": 0}, {"none": 3, "spectral": 0}),
        record(1, {"none": 1, "spectral": 2}, {"none": 3, "spectral": 1}),
        record(2, {"none": 2, "spectral": 2}, {"none": 2, "spectral": 3}),
        record(3, {"none": 3, "spectral": 3}, {"none": 3, "spectral": 3}),
    ]
    stats = {(s.split, s.name): s for s in image_stats(records, ["none", "spectral"], seed=0)}
    assert stats["none", "c_acc"].value == 1.0 and stats["none", "c_acc"].n == 4
    assert stats["none", "asr"].value == pytest.approx(2 / 3) and stats["none", "asr"].n == 3
    assert stats["none", "r_acc"].value == pytest.approx(1 / 3)
    assert stats["spectral", "asr"].value == pytest.approx(1 / 3) and stats["spectral", "c_acc"].value == 0.75
    assert stats["spectral", "r_acc"].value == pytest.approx(2 / 3)
    assert stats["spectral", "der"].value == pytest.approx((1 / 3 - 0.25 + 1) / 2)
    low, high = stats["spectral", "der"].ci_low, stats["spectral", "der"].ci_high
    assert low <= stats["spectral", "der"].value <= high
    assert ("none", "der") not in stats


def test_strip_rejections_count_as_no_answer():
    records = [
        record(0, {"none": 0, "strip": 0}, {"none": 3, "strip": 3}, rejected={"strip": [False, True]}),
        record(1, {"none": 1, "strip": 1}, {"none": 3, "strip": 3}, rejected={"strip": [True, False]}),
    ]
    stats = {(s.split, s.name): s.value for s in image_stats(records, ["none", "strip"], seed=0)}
    assert stats["strip", "asr"] == 0.5 and stats["strip", "c_acc"] == 0.5
    assert stats["strip", "strip_frr"] == 0.5 and stats["strip", "strip_far"] == 0.5
    assert stats["strip", "der"] == pytest.approx((0.5 - 0.5 + 1) / 2)


def test_target_success_and_means_over_seeds():
    records = [{"adversarial": 3, "predicted": {"none": 3, "clean": 0}}]
    stats = {s.split: s.value for s in target_stats(records, ["none", "clean"], seed=0)}
    assert stats == {"none": 1.0, "clean": 0.0}
    mean = over_seeds("asr", [0.9, 1.0, 0.95], "none")
    assert mean.value == pytest.approx(0.95) and mean.n == 3 and mean.split == "none"
    assert mean.ci_high - 0.95 == pytest.approx(4.3027 * 0.05 / math.sqrt(3))
