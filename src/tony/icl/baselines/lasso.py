"""Lasso (scikit-learn, no intercept), the baseline for sparse linear functions, and the paper's sweep of penalties."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from tony.core.errors import SpecError
from tony.icl.baselines.base import require_module
from tony.icl.baselines.per_prefix import PerPrefixModel

PAPER_LASSO_ALPHAS = (1.0, 0.1, 0.01, 0.001, 0.0001)
"""A sweep of Lasso penalties over the range the paper reports."""


@dataclass
class Lasso(PerPrefixModel):
    """scikit-learn's Lasso without intercept: min (1/2k) |y - Xw|^2 + alpha |w|_1."""

    alpha: float = 0.01
    """Weight of the L1 penalty (> 0)."""
    max_iter: int = 10_000
    """Coordinate-descent passes at most."""
    tol: float = 1e-4
    """Stop when an update changes the weights by less than this."""
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
