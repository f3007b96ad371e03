"""Tree baselines for decision-tree functions: scikit-learn's greedy CART tree and XGBoost's boosted trees."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

from tony.icl.baselines.base import require_module
from tony.icl.baselines.per_prefix import PerPrefixModel

XGBOOST_INSTALL = "pip install 'tony[icl]' (or 'xgboost-cpu==3.2.0')"


@dataclass
class GreedyTree(PerPrefixModel):
    """scikit-learn's DecisionTreeRegressor (CART, greedy splits), limited to `max_depth`."""

    max_depth: int | None = 4
    """Deepest split (None: grow until the leaves are pure)."""
    random_state: int = 0
    """Seed of the tie-breaking among equally good splits."""
    n_jobs: int = 1
    """Processes to spread the prompts over (joblib; -1: one per CPU)."""
    name: ClassVar[str] = "greedy_tree"

    def __post_init__(self) -> None:
        require_module("sklearn", "pip install scikit-learn")

    def _make_model(self) -> Any:
        from sklearn.tree import DecisionTreeRegressor

        return DecisionTreeRegressor(max_depth=self.max_depth, random_state=self.random_state)


@dataclass
class XGBoost(PerPrefixModel):
    """Gradient-boosted trees from the `xgboost` package (an optional dependency), single-threaded per fit."""

    n_estimators: int = 100
    """Boosting rounds (trees)."""
    max_depth: int = 6
    """Depth of each tree."""
    learning_rate: float = 0.3
    """Shrinkage of each tree's contribution."""
    random_state: int = 0
    """Seed of xgboost's sampling."""
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
