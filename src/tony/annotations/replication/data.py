"""The two image sets of a replication study: annotator counts per image, correctness per image and model.

Every estimator works on histograms over (n, k) cells (n annotators, k of whom said the label is right),
split by whether a model was right, so a set of images is summarised by a handful of numbers per model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ORIGINAL, REPLICATED = "original", "replicated"
SETS = (ORIGINAL, REPLICATED)


@dataclass(frozen=True)
class ImageSet:
    """One set's images: `yes` of `n` annotators said the label is right; `correct[i, m]` is model m on image i."""

    yes: np.ndarray
    n: np.ndarray
    correct: np.ndarray

    def __post_init__(self) -> None:
        if not (len(self.yes) == len(self.n) == len(self.correct)):
            raise ValueError("yes, n and correct need one row per image")
        if len(self.n) and (self.n.min() < 1 or (self.yes < 0).any() or (self.yes > self.n).any()):
            raise ValueError("need 0 <= yes <= n and n >= 1 for every image")

    @property
    def size(self) -> int:
        return len(self.n)


@dataclass(frozen=True)
class ReplicationData:
    """The original and the replicated set, with the same models' correctness on both."""

    original: ImageSet
    replicated: ImageSet
    models: tuple[str, ...]

    def __post_init__(self) -> None:
        for part in (self.original, self.replicated):
            if part.correct.shape[1] != len(self.models):
                raise ValueError("correct needs one column per model")

    def cells(self) -> Cells:
        """The (n, k) cells that occur in either set, and each image's cell."""
        n = np.concatenate([self.original.n, self.replicated.n])
        k = np.concatenate([self.original.yes, self.replicated.yes])
        pairs, index = np.unique(np.stack([n, k], axis=1), axis=0, return_inverse=True)
        index = index.ravel()
        split = self.original.size
        return Cells(pairs[:, 0], pairs[:, 1], index[:split], index[split:])


@dataclass(frozen=True)
class Cells:
    """Distinct (n, k) pairs and, for each image of each set, the index of its pair."""

    n: np.ndarray
    k: np.ndarray
    original: np.ndarray
    replicated: np.ndarray

    def __len__(self) -> int:
        return len(self.n)


def cell_counts(index: np.ndarray, correct: np.ndarray, cells: int) -> np.ndarray:
    """Images per (cell, right or wrong) for each model: shape (models, cells, 2), [..., 1] the right ones."""
    right = np.stack([np.bincount(index, weights=column, minlength=cells) for column in correct.T.astype(float)])
    total = np.bincount(index, minlength=cells).astype(float)
    return np.stack([total[None] - right, right], axis=2)
