"""Baselines that fit a library model once per prompt and position: Lasso, a greedy tree, XGBoost.

scikit-learn is needed for Lasso and the tree, the `xgboost` package for XGBoost; both are
imported on first use and a missing one raises a SpecError that says what to install.
"""

from __future__ import annotations

import importlib
import os
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tony.core.errors import SpecError
from tony.icl._prefix import PrefixEstimator, require_module

PAPER_LASSO_ALPHAS = (1.0, 0.1, 0.01, 0.001, 0.0001)
"""A sweep of Lasso penalties over the range the paper reports."""
XGBOOST_INSTALL = "pip install 'tony[icl]' (or 'xgboost-cpu==3.2.0')"


class _PerPrefixModel(PrefixEstimator):
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


@dataclass
class Lasso(_PerPrefixModel):
    """scikit-learn's Lasso without intercept: min (1/2k) |y - Xw|^2 + alpha |w|_1."""

    alpha: float = 0.01
    max_iter: int = 10_000
    tol: float = 1e-4
    n_jobs: int = 1
    """Processes to spread the prompts over (joblib; -1: one per CPU)."""
    name: ClassVar[str] = "lasso"

    def __post_init__(self) -> None:
        if not self.alpha > 0:
            raise SpecError(f"Lasso needs alpha > 0 (alpha = 0 is least squares), got {self.alpha}")
        require_module("sklearn", "pip install scikit-learn")

    def _make_model(self) -> Any:
        from sklearn.linear_model import Lasso as SklearnLasso

        return SklearnLasso(alpha=self.alpha, fit_intercept=False, max_iter=self.max_iter, tol=self.tol)


def lasso_sweep(alphas: tuple[float, ...] = PAPER_LASSO_ALPHAS, **params: Any) -> list[Lasso]:
    """One Lasso per penalty, to score side by side (report the best per position, as the paper does)."""
    return [Lasso(alpha=alpha, **params) for alpha in alphas]


@dataclass
class GreedyTree(_PerPrefixModel):
    """scikit-learn's DecisionTreeRegressor (CART, greedy splits), limited to `max_depth`."""

    max_depth: int | None = 4
    random_state: int = 0
    n_jobs: int = 1
    """Processes to spread the prompts over (joblib; -1: one per CPU)."""
    name: ClassVar[str] = "greedy_tree"

    def __post_init__(self) -> None:
        require_module("sklearn", "pip install scikit-learn")

    def _make_model(self) -> Any:
        from sklearn.tree import DecisionTreeRegressor

        return DecisionTreeRegressor(max_depth=self.max_depth, random_state=self.random_state)



@dataclass
class XGBoost(_PerPrefixModel):
    """Gradient-boosted trees from the `xgboost` package (an optional dependency), single-threaded per fit."""

    n_estimators: int = 100
    max_depth: int = 6
    learning_rate: float = 0.3
    random_state: int = 0
    n_jobs: int = 1
    """Processes to spread the prompts over (joblib; -1: one per CPU)."""
    name: ClassVar[str] = "xgboost"

    def __post_init__(self) -> None:
        require_module("xgboost", XGBOOST_INSTALL)

    def _make_model(self) -> Any:
        xgboost = importlib.import_module("xgboost")
        return xgboost.XGBRegressor(
            n_estimators=self.n_estimators, max_depth=self.max_depth, learning_rate=self.learning_rate,
            random_state=self.random_state, n_jobs=1, tree_method="exact",
        )

