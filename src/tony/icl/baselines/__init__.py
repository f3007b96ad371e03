"""Baselines the transformer is compared with, as scikit-learn-like estimators: one module per family.

Each is a `PrefixEstimator`: ``fit(X, y)`` / ``predict(X)`` on one prompt's examples, and
``predict_prefixes(xs, ys, query_xs=None) -> preds [n_prompts, n_points]`` where
``preds[:, k]`` uses only pairs 0..k-1 (``preds[:, 0] == 0``). Least squares, averaging
(`linear`) and nearest neighbours (`neighbors`) are vectorized over prompts; Lasso (`lasso`),
the greedy tree and XGBoost (`trees`) fit once per prompt and position; the gradient-descent
network (`network`) trains every (prompt, position) network together in one batched torch model.
Each is registered by name as an "icl_baseline" in `tony.catalog`.
"""

from __future__ import annotations

from typing import Any

from tony.core.errors import SpecError
from tony.core.registry import registry
from tony.icl.baselines.base import PrefixEstimator, check_prompts
from tony.icl.baselines.lasso import PAPER_LASSO_ALPHAS, Lasso, lasso_sweep
from tony.icl.baselines.linear import Averaging, LeastSquares
from tony.icl.baselines.neighbors import NearestNeighbors
from tony.icl.baselines.network import GDNetwork
from tony.icl.baselines.trees import GreedyTree, XGBoost

__all__ = [
    "BASELINES", "PAPER_LASSO_ALPHAS", "Averaging", "GDNetwork", "GreedyTree", "Lasso", "LeastSquares",
    "NearestNeighbors", "PrefixEstimator", "XGBoost", "check_prompts", "get_baseline", "lasso_sweep",
]

BASELINES = registry.table("icl_baseline")
"""Name -> estimator class (the registry's "icl_baseline" kind); instantiate with its hyperparameters as keywords."""


def get_baseline(name: str, **params: Any) -> PrefixEstimator:
    """The baseline called `name`, built with `params` (e.g. ``get_baseline("lasso", alpha=0.01)``)."""
    cls = registry.get("icl_baseline", name)
    try:
        return cls(**params)
    except TypeError as err:
        raise SpecError(f"bad parameters for baseline '{name}': {err}") from None
