"""The estimator interface every ICL baseline shares: scikit-learn's fit / predict, plus prefix scoring."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from typing import Any, ClassVar, Self

import numpy as np

from tony.core.errors import SpecError


def require_module(module: str, install: str) -> Any:
    """Import an optional dependency, or raise a SpecError that says how to install it."""
    if importlib.util.find_spec(module) is None:
        raise SpecError(f"this baseline needs the '{module}' package, which is not installed: {install}")
    return importlib.import_module(module)


def check_prompts(
    xs: Any, ys: Any, query_xs: Any | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate a batch of prompts and return float64 copies ``(xs, ys, query_xs)``."""
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    if xs.ndim != 3 or ys.shape != xs.shape[:2]:
        raise SpecError(f"prompts must be xs [n_prompts, n_points, d] and ys [n_prompts, n_points], "
                        f"got {xs.shape} and {ys.shape}")
    queries = xs if query_xs is None else np.asarray(query_xs, dtype=np.float64)
    if queries.shape != xs.shape:
        raise SpecError(f"query_xs must be shaped like xs {xs.shape}, got {queries.shape}")
    if not (np.isfinite(xs).all() and np.isfinite(ys).all() and np.isfinite(queries).all()):
        raise SpecError("prompts contain NaN or infinite values")
    return xs, ys, queries


@dataclasses.dataclass
class PrefixEstimator:
    """A learning algorithm applied to the examples of one prompt.

    Like a scikit-learn regressor: ``fit(X [k, d], y [k])`` then ``predict(X [q, d])``
    (fitting on zero examples predicts 0). `predict_prefixes` scores every position of a
    batch of prompts at once: ``preds[:, k]`` is the prediction at ``query_xs[:, k]``
    (``xs[:, k]`` by default) from pairs 0..k-1 only, and ``preds[:, 0] == 0``.
    Constructor arguments are the hyperparameters (`get_params`); nothing else is state.
    """

    name: ClassVar[str] = "estimator"

    def fit(self, X: Any, y: Any) -> Self:
        """Remember the in-context examples ``X [k, d]``, ``y [k]`` (k may be 0)."""
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or y.shape != X.shape[:1]:
            raise SpecError(f"fit needs X [k, d] and y [k], got {X.shape} and {y.shape}")
        self.context_x_, self.context_y_ = X, y
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions at ``X [q, d]`` from the examples given to `fit`."""
        if not hasattr(self, "context_x_"):
            raise SpecError(f"{type(self).__name__} is not fitted yet; call fit(X, y) first")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.context_x_.shape[1]:
            raise SpecError(f"predict needs X [q, {self.context_x_.shape[1]}], got {X.shape}")
        if len(self.context_y_) == 0:
            return np.zeros(len(X))
        return self._predict_one(self.context_x_, self.context_y_, X)

    def predict_prefixes(self, xs: Any, ys: Any, query_xs: Any | None = None) -> np.ndarray:
        """``preds [n_prompts, n_points]``: position k predicted from the k pairs before it."""
        return self._predict_prefixes(*check_prompts(xs, ys, query_xs))

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters, as passed to the constructor."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def set_params(self, **params: Any) -> Self:
        """Change hyperparameters in place (scikit-learn style)."""
        for key, value in params.items():
            if key not in self.get_params():
                raise SpecError(f"{type(self).__name__} has no parameter '{key}'; it has {list(self.get_params())}")
            setattr(self, key, value)
        return self

    @property
    def label(self) -> str:
        """A short name for tables: the registry name plus the hyperparameters."""
        params = ", ".join(f"{k}={v}" for k, v in self.get_params().items())
        return f"{self.name}({params})" if params else self.name

    def _predict_one(self, X: np.ndarray, y: np.ndarray, queries: np.ndarray) -> np.ndarray:
        """Predictions at ``queries [q, d]`` from ``X [k, d]``, ``y [k]`` with k >= 1."""
        raise NotImplementedError

    def _predict_prefixes(self, xs: np.ndarray, ys: np.ndarray, queries: np.ndarray) -> np.ndarray:
        """Default: one fit per prompt and position (subclasses vectorize where they can)."""
        preds = np.zeros(ys.shape)
        for i in range(xs.shape[0]):
            for k in range(1, xs.shape[1]):
                preds[i, k] = self._predict_one(xs[i, :k], ys[i, :k], queries[i, k : k + 1])[0]
        return preds
