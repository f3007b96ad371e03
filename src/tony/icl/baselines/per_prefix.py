"""The base of the baselines that fit a library regressor once per prompt and position (Lasso, trees).

The libraries (scikit-learn, xgboost) are imported on first use; a missing one raises a SpecError that says
what to install.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from tony.icl.baselines.base import PrefixEstimator


class PerPrefixModel(PrefixEstimator):
    """Fits a fresh library regressor on each prefix; `n_jobs` > 1 splits the prompts over processes."""

    n_jobs: int

    def _make_model(self) -> Any:
        raise NotImplementedError

    def _predict_prefixes(self, xs: np.ndarray, ys: np.ndarray, queries: np.ndarray) -> np.ndarray:
        jobs = min((os.cpu_count() or 1) if self.n_jobs < 0 else self.n_jobs, len(xs))
        if jobs <= 1:
            return super()._predict_prefixes(xs, ys, queries)
        from joblib import Parallel, delayed

        parts = np.array_split(np.arange(len(xs)), jobs)
        loop = PrefixEstimator._predict_prefixes
        results = Parallel(n_jobs=jobs)(delayed(loop)(self, xs[i], ys[i], queries[i]) for i in parts)
        return np.concatenate(results)

    def _predict_one(self, X: np.ndarray, y: np.ndarray, queries: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings on tiny prefixes are expected
            model = self._make_model().fit(X, y)
            return np.asarray(model.predict(queries), dtype=np.float64)
