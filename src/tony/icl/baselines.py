"""Baselines the transformer is compared with, as scikit-learn-like estimators.

Each is a `PrefixEstimator`: ``fit(X, y)`` / ``predict(X)`` on one prompt's examples, and
``predict_prefixes(xs, ys, query_xs=None) -> preds [n_prompts, n_points]`` where
``preds[:, k]`` uses only pairs 0..k-1 (``preds[:, 0] == 0``). Least squares, averaging
and nearest neighbours are vectorized over prompts; Lasso, the greedy tree and XGBoost fit
once per prompt and position; the gradient-descent network trains every (prompt, position)
network together in one batched torch model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tony.core.errors import SpecError, UnknownComponentError
from tony.icl._prefix import PrefixEstimator, check_prompts
from tony.icl.fitted_baselines import PAPER_LASSO_ALPHAS, GreedyTree, Lasso, XGBoost, lasso_sweep
from tony.icl.network_baseline import GDNetwork

__all__ = [
    "BASELINES", "PAPER_LASSO_ALPHAS", "Averaging", "GDNetwork", "GreedyTree", "Lasso", "LeastSquares",
    "NearestNeighbors", "PrefixEstimator", "XGBoost", "check_prompts", "get_baseline", "lasso_sweep",
]


@dataclass
class LeastSquares(PrefixEstimator):
    """Minimum-norm least squares, w = pinv(X) y (the optimal estimator for noiseless linear functions)."""

    name: ClassVar[str] = "least_squares"

    def _predict_one(self, X: np.ndarray, y: np.ndarray, queries: np.ndarray) -> np.ndarray:
        return queries @ (np.linalg.pinv(X) @ y)

    def _predict_prefixes(self, xs: np.ndarray, ys: np.ndarray, queries: np.ndarray) -> np.ndarray:
        preds = np.zeros(ys.shape)
        for k in range(1, xs.shape[1]):
            w = np.einsum("ndk,nk->nd", np.linalg.pinv(xs[:, :k]), ys[:, :k])
            preds[:, k] = np.einsum("nd,nd->n", queries[:, k], w)
        return preds


@dataclass
class Averaging(PrefixEstimator):
    """w = mean of y_i x_i (one step of gradient descent from zero, up to scale)."""

    name: ClassVar[str] = "averaging"

    def _predict_one(self, X: np.ndarray, y: np.ndarray, queries: np.ndarray) -> np.ndarray:
        return queries @ (y @ X / len(y))

    def _predict_prefixes(self, xs: np.ndarray, ys: np.ndarray, queries: np.ndarray) -> np.ndarray:
        sums = np.cumsum(ys[..., None] * xs, axis=1)  # sums[:, k] = sum over i <= k
        preds = np.zeros(ys.shape)
        counts = np.arange(1, xs.shape[1])
        preds[:, 1:] = np.einsum("npd,npd->np", queries[:, 1:], sums[:, :-1]) / counts
        return preds


@dataclass
class NearestNeighbors(PrefixEstimator):
    """Mean y of the `n_neighbors` nearest earlier x's (Euclidean; all of them when fewer; ties to the earliest)."""

    n_neighbors: int = 3
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


BASELINES: dict[str, type[PrefixEstimator]] = {
    cls.name: cls for cls in (LeastSquares, Averaging, NearestNeighbors, Lasso, GDNetwork, GreedyTree, XGBoost)
}
"""Name -> estimator class; instantiate with its hyperparameters as keywords."""


def get_baseline(name: str, **params: Any) -> PrefixEstimator:
    """The baseline called `name`, built with `params` (e.g. ``get_baseline("lasso", alpha=0.01)``)."""
    try:
        cls = BASELINES[name]
    except KeyError:
        raise UnknownComponentError(f"unknown baseline '{name}'; choose one of: {', '.join(BASELINES)}") from None
    try:
        return cls(**params)
    except TypeError as err:
        raise SpecError(f"bad parameters for baseline '{name}': {err}") from None
