"""Building a replicated test set by matching the original set's histogram of observed selection frequencies.

The published procedure (ImageNet-v2's "matched frequency" set): for each class, bin the original
images' observed frequencies k / n into five bins of width 0.2 ([0, 0.2), ..., [0.8, 1.0]) and draw, from
that class's candidates, as many images per bin as the original set has there.
"""

from __future__ import annotations

import numpy as np

BINS = 5


def frequency_bin(yes: np.ndarray, n: np.ndarray | int, bins: int = BINS) -> np.ndarray:
    """The bin of k / n among `bins` equal bins of [0, 1] (1.0 goes in the last), in exact integer arithmetic."""
    return np.minimum(bins * np.asarray(yes) // np.asarray(n), bins - 1)


def match_histogram(original_bins: np.ndarray, original_classes: np.ndarray, candidate_bins: np.ndarray,
                    candidate_classes: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Indices of the candidates chosen, class by class and bin by bin, and how many images were missing.

    Where a class's bin has fewer candidates than the original set has images there, all are taken and
    the shortfall is counted (the replicated set is then that much smaller).
    """
    chosen, missing = [], 0
    for cls in np.unique(original_classes):
        wanted = np.bincount(original_bins[original_classes == cls], minlength=BINS)
        in_class = candidate_classes == cls
        for b in np.flatnonzero(wanted):
            pool = np.flatnonzero(in_class & (candidate_bins == b))
            take = min(int(wanted[b]), len(pool))
            missing += int(wanted[b]) - take
            chosen.append(rng.choice(pool, size=take, replace=False))
    return np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=int), missing
