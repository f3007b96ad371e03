"""Linear baselines in closed form: minimum-norm least squares and averaging, vectorized over prompts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tony.icl.baselines.base import PrefixEstimator


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
