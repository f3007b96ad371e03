"""Choosing pseudo-labels: a model's most confident predictions on the unlabeled set, balanced over classes.

For a fraction f of U unlabeled images and K classes, each class gets up to ``floor(f * U / K)`` images: those the
teacher predicts as that class with the highest confidence (its largest softmax probability), none below
`min_confidence`. Within a class the choice is monotone in confidence: every chosen image is at least as confident
as every image predicted as that class and left out (ties broken by position, so the choice is deterministic).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tony.core.errors import SpecError


@dataclass(frozen=True)
class PseudoLabels:
    """The chosen unlabeled images and the labels the teacher gave them."""

    index: np.ndarray
    """Positions in the unlabeled set, ascending."""
    labels: np.ndarray
    """The teacher's predicted class of each."""


def select_pseudo_labels(probabilities: np.ndarray, fraction: float, *, min_confidence: float = 0.0) -> PseudoLabels:
    """The class-balanced most confident `fraction` of the rows of `probabilities` ([U, K], rows sum to 1)."""
    if not 0.0 <= fraction <= 1.0:
        raise SpecError(f"the fraction of unlabeled images to pseudo-label must be in [0, 1], got {fraction}")
    count, classes = probabilities.shape
    per_class = int(fraction * count / classes)
    predicted, confidence = probabilities.argmax(1), probabilities.max(1)
    chosen = []
    for label in range(classes):
        members = np.flatnonzero((predicted == label) & (confidence >= min_confidence))
        ranked = members[np.argsort(-confidence[members], kind="stable")]
        chosen.append(ranked[:per_class])
    index = np.sort(np.concatenate(chosen)).astype(np.int64)
    return PseudoLabels(index, predicted[index])


def growing_fraction(round_: int, rounds: int, final_fraction: float) -> float:
    """The fraction pseudo-labeled in round `round_` (1..rounds): growing linearly to `final_fraction`."""
    return final_fraction * round_ / rounds
