"""Calibration: expected calibration error and selective accuracy (HELM's definitions)."""

from __future__ import annotations

import numpy as np

COVERAGES = tuple(round(0.1 * i, 1) for i in range(1, 11))


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """sum over equal-width confidence bins of (bin size / n) * |accuracy - mean confidence|."""
    confidence, correct = np.asarray(confidence, float), np.asarray(correct, float)
    # Bin i holds confidences in (i/bins, (i+1)/bins]; a confidence of 0 goes to the first bin.
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            total += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(total)


def selective_accuracy(confidence: np.ndarray, correct: np.ndarray) -> tuple[list[float], float]:
    """Accuracy on the most confident fraction c of instances, for c in COVERAGES, and the
    area under the whole coverage-accuracy curve (the mean over every prefix size)."""
    order = np.argsort(-np.asarray(confidence, float), kind="stable")
    ranked = np.asarray(correct, float)[order]
    prefix_accuracy = np.cumsum(ranked) / np.arange(1, len(ranked) + 1)
    at = [float(prefix_accuracy[max(int(round(c * len(ranked))), 1) - 1]) for c in COVERAGES]
    return at, float(prefix_accuracy.mean())
