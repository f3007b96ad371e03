"""Text and calibration metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from tony.lm.metrics.calibration import expected_calibration_error, selective_accuracy
from tony.lm.metrics.text import exact_match, f1_score, normalize_text, quasi_exact_match


def test_exact_and_quasi_exact_match():
    assert exact_match(" 1000 ", ["1000"]) == 1.0
    assert exact_match("The Paris.", ["Paris"]) == 0.0
    assert quasi_exact_match("The Paris.", ["paris"]) == 1.0
    assert quasi_exact_match("Lyon", ["paris", "Marseille"]) == 0.0
    assert normalize_text("  An apple,  the PEAR! ") == "apple pear"


def test_f1_takes_the_best_reference():
    # prediction "red big cat" vs "big red dog": 2 common of 3 and 3 -> 2/3
    assert f1_score("red big cat", ["big red dog"]) == pytest.approx(2 / 3)
    assert f1_score("red big cat", ["big red dog", "red big cat"]) == 1.0
    assert f1_score("", ["x"]) == 0.0


def test_ece_by_hand():
    confidence = np.array([0.95, 0.95, 0.55, 0.55, 0.55, 0.15])
    correct = np.array([1, 0, 1, 1, 0, 0])
    # bins: (0.9,1]: acc .5 conf .95 -> 2/6*.45 ; (0.5,0.6]: acc 2/3 conf .55 -> 3/6*0.11667 ; (0.1,0.2]: 1/6*.15
    expected = 2 / 6 * 0.45 + 3 / 6 * abs(2 / 3 - 0.55) + 1 / 6 * 0.15
    assert expected_calibration_error(confidence, correct) == pytest.approx(expected)


def test_perfectly_calibrated_predictions_have_zero_ece():
    confidence = np.array([0.25] * 4 + [0.75] * 4)
    correct = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.0)


def test_selective_accuracy_ranks_by_confidence():
    confidence = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    correct = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    at, area = selective_accuracy(confidence, correct)
    assert at[0] == 1.0 and at[4] == 1.0 and at[9] == 0.5
    prefix = np.cumsum(correct) / np.arange(1, 11)
    assert area == pytest.approx(prefix.mean())


def test_vectorised_calibration_summary_equals_the_definitions():
    from tony.lm.metrics.aggregate import _calibration_summary

    rng = np.random.default_rng(3)
    confidence = rng.uniform(0, 1, size=(5, 37))
    correct = (rng.uniform(0, 1, size=(5, 37)) < confidence).astype(float)
    summary = _calibration_summary(confidence, correct)
    for row in range(5):
        at, area = selective_accuracy(confidence[row], correct[row])
        assert summary[row, 0] == pytest.approx(expected_calibration_error(confidence[row], correct[row]))
        assert summary[row, 1] == pytest.approx(area)
        assert summary[row, 2:] == pytest.approx(at)
