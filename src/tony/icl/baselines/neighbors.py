"""Nearest neighbours: the mean output of the closest earlier inputs, vectorized over prompts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tony.core.errors import SpecError
from tony.icl.baselines.base import PrefixEstimator


@dataclass
class NearestNeighbors(PrefixEstimator):
    """Mean y of the `n_neighbors` nearest earlier x's (Euclidean; all of them when fewer; ties to the earliest)."""

    n_neighbors: int = 3
    """How many of the nearest earlier examples are averaged."""
    name: ClassVar[str] = "nearest_neighbors"

    def __post_init__(self) -> None:
        if self.n_neighbors < 1:
            raise SpecError(f"n_neighbors must be >= 1, got {self.n_neighbors}")

    def _predict_one(self, X: np.ndarray, y: np.ndarray, queries: np.ndarray) -> np.ndarray:
        distances = ((queries[:, None, :] - X[None, :, :]) ** 2).sum(-1)
        nearest = np.argsort(distances, axis=1, kind="stable")[:, : self.n_neighbors]
        return y[nearest].mean(axis=1)

    def _predict_prefixes(self, xs: np.ndarray, ys: np.ndarray, queries: np.ndarray) -> np.ndarray:
        chunk = 64  # prompts at a time: the pairwise differences are [chunk, p, p, d]
        return np.concatenate([self._nearest_mean(xs[s : s + chunk], ys[s : s + chunk], queries[s : s + chunk])
                               for s in range(0, len(xs), chunk)])

    def _nearest_mean(self, xs: np.ndarray, ys: np.ndarray, queries: np.ndarray) -> np.ndarray:
        n, p, _ = xs.shape
        distances = ((queries[:, :, None, :] - xs[:, None, :, :]) ** 2).sum(-1)  # [n, query k, example j]
        earlier = np.arange(p)[None, :] < np.arange(p)[:, None]  # [k, j]: j < k
        distances = np.where(earlier, distances, np.inf)
        nearest = np.argsort(distances, axis=2, kind="stable")[:, :, : self.n_neighbors]  # [n, p, m]
        used = np.take_along_axis(np.broadcast_to(earlier, (n, p, p)), nearest, axis=2)
        chosen_ys = np.take_along_axis(np.broadcast_to(ys[:, None, :], (n, p, p)), nearest, axis=2)
        counts = used.sum(axis=2)
        return np.where(counts > 0, (chosen_ys * used).sum(axis=2) / np.maximum(counts, 1), 0.0)
