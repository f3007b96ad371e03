"""The paper's protocol on hand-made cases: which images count, what is corrected, the stats and paired differences."""

from __future__ import annotations

import numpy as np
import pytest

from tony.vision.editing.evaluate import Baseline, aggregate, edit_record, edit_values, paired_differences

CLASSES = ("a", "b", "c")


def baseline() -> Baseline:
    # 8 test images: labels, whether each has the concept, right as is, right once transformed.
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    concept = np.array([1, 1, 1, 1, 1, 1, 1, 0], dtype=bool)
    clean = np.array([1, 1, 0, 1, 1, 1, 1, 1], dtype=bool)
    transformed = np.array([0, 1, 0, 0, 0, 1, 0, 0], dtype=bool)
    return Baseline(labels, concept, clean, transformed)


def test_errors_are_images_with_the_concept_right_before_and_wrong_after():
    # image 2 was wrong before; image 7 has no concept; images 1 and 5 survive the transformation.
    assert np.flatnonzero(baseline().errors).tolist() == [0, 3, 4, 6]


def test_corrected_counts_by_exemplar_class_and_others():
    base = baseline()
    # The edited model on the 4 errors (labels 0, 1, 1, 2): right on image 0 and image 4, wrong on 3 and 6.
    fixed = np.array([0, 2, 1, 0])
    clean = np.array([0, 1, 0, 1, 0, 2, 2, 0])  # now wrong on images 1 (was right) and 7; image 2 now right
    record = edit_record(base, exemplar_label=1, clean_predictions=clean, error_predictions=fixed, classes=CLASSES)
    assert record["corrected_exemplar_class"] == [1, 2]  # of images 3 and 4, image 4
    assert record["corrected_other_classes"] == [1, 2]  # of images 0 and 6, image 0
    assert record["clean_before"] == {"a": [2, 3], "b": [2, 2], "c": [3, 3]}
    assert record["clean_after"] == {"a": [2, 3], "b": [1, 2], "c": [2, 3]}
    assert record["unedited"] == {"concept": 7, "concept_clean_correct": 6, "transformed_correct": 2, "errors": 4}
    values = edit_values({**record, "exemplars_fixed": True})
    assert values["clean_accuracy_drop"] == pytest.approx(7 / 8 - 5 / 8)
    assert (values["corrected_exemplar_class"], values["corrected_other_classes"]) == (0.5, 0.5)


def _record(seed: int, draw: int, method: str, own: list[int], other: list[int], after_a: int) -> dict:
    return {"seed": seed, "draw": draw, "method": method, "exemplars_fixed": True,
            "corrected_exemplar_class": own, "corrected_other_classes": other,
            "clean_before": {"a": [4, 4], "b": [2, 4]}, "clean_after": {"a": [after_a, 4], "b": [2, 4]},
            "unedited": {"concept": 8, "concept_clean_correct": 6, "transformed_correct": 3, "errors": 3}}


def test_stats_are_means_over_edits_and_the_unedited_model_is_counted_once_per_seed():
    records = [_record(0, 0, "rewrite", [1, 1], [1, 2], 4), _record(0, 1, "rewrite", [0, 0], [2, 2], 3),
               _record(0, 0, "finetune_local", [0, 1], [0, 2], 2), _record(0, 1, "finetune_local", [1, 1], [0, 2], 4),
               _record(1, 0, "rewrite", [1, 2], [1, 1], 4), _record(1, 0, "finetune_local", [0, 2], [0, 1], 4)]
    stats = {(s.name, s.split, s.subgroup): s for s in aggregate(records, seed=0)}
    own = stats[("corrected_exemplar_class", "rewrite", "")]
    assert (own.value, own.n) == (pytest.approx((1 + 0.5) / 2), 2)  # the draw without own-class errors is left out
    other = stats[("corrected_other_classes", "rewrite", "")]
    assert (other.value, other.n) == (pytest.approx((0.5 + 1 + 1) / 3), 3)
    drop = stats[("clean_accuracy_drop", "finetune_local", "")]
    assert drop.value == pytest.approx((2 / 8 + 0 + 0) / 3)
    assert stats[("clean_accuracy_drop", "finetune_local", "a")].value == pytest.approx((2 / 4) / 3)
    assert stats[("clean_accuracy_drop", "finetune_local", "b")].value == 0
    broken = stats[("broken_fraction", "unedited", "")]
    assert (broken.value, broken.n) == (0.5, 12)  # 3 of 6, from each of the two seeds
    assert stats[("clean_accuracy", "unedited", "")].value == pytest.approx(12 / 16)
    for stat in stats.values():
        assert stat.ci_low <= stat.value + 1e-12 and stat.value <= stat.ci_high + 1e-12


def test_paired_differences_pair_edits_by_seed_and_draw():
    records = [_record(0, d, "rewrite", [1, 1], [k, 4], 4) for d, k in enumerate((4, 3, 2))]
    records += [_record(0, d, "finetune_local", [1, 1], [k, 4], 4) for d, k in enumerate((1, 1, 2))]
    difference, low, high, n = paired_differences(records, "rewrite", "finetune_local", "corrected_other_classes")
    assert n == 3 and difference == pytest.approx(((4 - 1) + (3 - 1) + 0) / 4 / 3)
    assert low <= difference <= high
