"""Baselines: closed-form error curves, agreement of the vectorized and one-prompt paths, causality, errors."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from tony.core.errors import SpecError
from tony.icl.baselines import (
    BASELINES,
    Averaging,
    GDNetwork,
    GreedyTree,
    Lasso,
    LeastSquares,
    NearestNeighbors,
    PrefixEstimator,
    XGBoost,
    get_baseline,
    lasso_sweep,
)
from tony.icl.metrics import normalized_squared_error
from tony.icl.prompts import sample_eval_prompts, sample_prompts

HAS_XGBOOST = importlib.util.find_spec("xgboost") is not None


def _errors(estimator: PrefixEstimator, function_class: str, n: int, p: int, d: int, seed: int) -> np.ndarray:
    xs, ys = sample_prompts(function_class, n, p, d, seed=seed)
    return normalized_squared_error(estimator.predict_prefixes(xs, ys), ys, float(d))


def _assert_mean_close(errors: np.ndarray, expected: float, k: int) -> None:
    """The mean error at position k is within 4 standard errors of the closed form."""
    column = errors[:, k]
    tolerance = 4 * column.std(ddof=1) / np.sqrt(len(column))
    assert abs(column.mean() - expected) < tolerance, (k, column.mean(), expected, tolerance)


def test_least_squares_error_is_d_minus_k_over_d_then_zero() -> None:
    d, p = 5, 11
    errors = _errors(LeastSquares(), "linear", 2000, p, d, seed=0)
    for k in range(d):
        _assert_mean_close(errors, (d - k) / d, k)
    assert errors[:, d:].mean(axis=0).max() < 1e-6


def test_averaging_error_is_d_plus_1_over_k() -> None:
    # w_hat = S w with S = (1/k) sum x_i x_i^T, so E[((w_hat - w) . x)^2] = E tr((S - I)^2) = d (d + 1) / k
    # (E tr S^2 = d + (d^2 + d) / k by Isserlis); normalized by d this is (d + 1) / k.
    d, p = 5, 16
    errors = _errors(Averaging(), "linear", 4000, p, d, seed=1)
    _assert_mean_close(errors, 1.0, 0)
    for k in range(1, p):
        _assert_mean_close(errors, (d + 1) / k, k)


def test_nearest_neighbors_by_hand() -> None:
    xs = np.array([[[0.0], [10.0], [1.0], [11.0], [0.4], [10.6]]])
    ys = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    preds = NearestNeighbors().predict_prefixes(xs, ys)
    # k=1: only y0; k=2: both; k=3: x=11 -> all three; k=4: x=0.4 -> 0, 1, 10 -> (1+3+2)/3;
    # k=5: x=10.6 -> 10, 11, 1 -> (2+4+3)/3.
    np.testing.assert_allclose(preds[0], [0.0, 1.0, 1.5, 2.0, 2.0, 3.0])
    assert NearestNeighbors(n_neighbors=1).fit(xs[0, :4], ys[0, :4]).predict([[10.4]])[0] == 2.0


def test_nearest_neighbors_beat_zero_on_trees_late_in_the_prompt() -> None:
    xs, ys = sample_prompts("decision_tree", 300, 41, 3, seed=2)
    errors = normalized_squared_error(NearestNeighbors().predict_prefixes(xs, ys), ys, 1.0)
    assert errors[:, 0].mean() == pytest.approx(1.0, rel=0.25)
    assert errors[:, 30:].mean() < 0.5


def _small_estimators() -> list[PrefixEstimator]:
    estimators: list[PrefixEstimator] = [
        LeastSquares(), Averaging(), NearestNeighbors(), Lasso(alpha=0.05), GreedyTree(max_depth=3),
        GDNetwork(steps=10, hidden=8),
    ]
    if HAS_XGBOOST:
        estimators.append(XGBoost(n_estimators=5))
    return estimators


@pytest.mark.parametrize("estimator", _small_estimators(), ids=lambda e: e.name)
def test_prefix_predictions_use_only_earlier_pairs(estimator: PrefixEstimator) -> None:
    xs, ys = sample_prompts("linear", 3, 7, 4, seed=3)
    preds = estimator.predict_prefixes(xs, ys)
    assert preds.shape == (3, 7)
    assert not preds[:, 0].any()
    changed_ys = ys.copy()
    changed_ys[:, 4:] += 10.0
    changed_xs = xs.copy()
    changed_xs[:, 5:] *= -3.0
    np.testing.assert_allclose(estimator.predict_prefixes(changed_xs, changed_ys)[:, :5], preds[:, :5], atol=1e-9)


@pytest.mark.parametrize("estimator", [e for e in _small_estimators() if e.name != "gd_network"], ids=lambda e: e.name)
def test_vectorized_prefixes_match_fit_predict(estimator: PrefixEstimator) -> None:
    p = sample_eval_prompts("linear", 3, 7, 4, distribution="random_orthant", seed=4)
    preds = estimator.predict_prefixes(p.xs, p.ys, p.query_xs)
    for i in range(3):
        assert estimator.fit(p.xs[i, :0], p.ys[i, :0]).predict(p.query_xs[i, :1])[0] == 0.0
        for k in range(1, 7):
            one = estimator.fit(p.xs[i, :k], p.ys[i, :k]).predict(p.query_xs[i, k : k + 1])[0]
            assert one == pytest.approx(preds[i, k], rel=1e-6, abs=1e-8)


def test_lasso_beats_least_squares_on_sparse_functions() -> None:
    d, p = 10, 9
    xs, ys = sample_prompts("sparse_linear", 60, p, d, seed=5)
    lasso = normalized_squared_error(Lasso(alpha=0.01).predict_prefixes(xs, ys), ys, 3.0)
    least = normalized_squared_error(LeastSquares().predict_prefixes(xs, ys), ys, 3.0)
    assert lasso[:, 6:].mean() < 0.5 * least[:, 6:].mean()
    assert [lasso.alpha for lasso in lasso_sweep()] == [1.0, 0.1, 0.01, 0.001, 0.0001]
    assert all(lasso.max_iter == 50 for lasso in lasso_sweep((0.1, 0.2), max_iter=50))
    with pytest.raises(SpecError, match="alpha > 0"):
        Lasso(alpha=0.0)


def test_parallel_fits_match_sequential_ones() -> None:
    xs, ys = sample_prompts("decision_tree", 6, 8, 3, seed=10)
    sequential = GreedyTree().predict_prefixes(xs, ys)
    np.testing.assert_array_equal(GreedyTree(n_jobs=2).predict_prefixes(xs, ys), sequential)


def test_unlimited_tree_recalls_an_earlier_example_exactly() -> None:
    p = sample_eval_prompts("decision_tree", 10, 12, 5, distribution="query_matches_example", seed=6)
    preds = GreedyTree(max_depth=None).predict_prefixes(p.xs, p.ys, p.query_xs)
    np.testing.assert_allclose(preds[:, 1:], p.query_ys[:, 1:], atol=1e-6)


def test_gd_network_fits_its_examples() -> None:
    p = sample_eval_prompts("relu_2nn", 2, 7, 3, distribution="query_matches_example", seed=7)
    preds = GDNetwork(hidden=32, steps=300, lr=2e-2).predict_prefixes(p.xs, p.ys, p.query_xs)
    assert normalized_squared_error(preds[:, 1:], p.query_ys[:, 1:], 3.0).mean() < 0.02


def test_gd_network_is_deterministic_by_seed() -> None:
    xs, ys = sample_prompts("linear", 2, 5, 3, seed=9)
    preds = GDNetwork(hidden=8, steps=5).predict_prefixes(xs, ys)
    np.testing.assert_array_equal(GDNetwork(hidden=8, steps=5).predict_prefixes(xs, ys), preds)
    assert not np.array_equal(GDNetwork(hidden=8, steps=5, seed=1).predict_prefixes(xs, ys), preds)


@pytest.mark.skipif(not HAS_XGBOOST, reason="xgboost is an optional dependency")
def test_xgboost_learns_trees_late_in_the_prompt() -> None:
    xs, ys = sample_prompts("decision_tree", 20, 41, 3, seed=8)
    errors = normalized_squared_error(XGBoost(n_estimators=20).predict_prefixes(xs, ys), ys, 1.0)
    assert errors[:, 30:].mean() < 0.5


def test_missing_xgboost_is_a_clean_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "xgboost" else real_find_spec(name)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(SpecError, match=r"needs the 'xgboost' package.*pip install 'tony\[icl\]'"):
        XGBoost()


def test_registry_params_and_errors() -> None:
    assert set(BASELINES) == {
        "least_squares", "averaging", "nearest_neighbors", "lasso", "gd_network", "greedy_tree", "xgboost"
    }
    lasso = get_baseline("lasso", alpha=0.1)
    assert lasso.get_params()["alpha"] == 0.1 and lasso.label.startswith("lasso(alpha=0.1")
    assert lasso.set_params(alpha=0.2).alpha == 0.2
    assert get_baseline("averaging").label == "averaging"
    assert BASELINES["gd_network"] is GDNetwork and BASELINES.get("svm") is None
    with pytest.raises(SpecError, match="unknown baseline 'svm': `tony ls icl_baseline` lists them .*least_squares"):
        get_baseline("svm")
    with pytest.raises(SpecError, match="unknown baseline 'least_square': did you mean 'least_squares'?"):
        get_baseline("least_square")
    with pytest.raises(SpecError, match="bad parameters for baseline 'lasso'"):
        get_baseline("lasso", depth=3)
    with pytest.raises(SpecError, match="no parameter 'depth'"):
        lasso.set_params(depth=3)
    with pytest.raises(SpecError, match="n_neighbors"):
        NearestNeighbors(n_neighbors=0)
    with pytest.raises(SpecError, match="not fitted"):
        LeastSquares().predict([[1.0, 2.0]])
    with pytest.raises(SpecError, match="prompts must be"):
        LeastSquares().predict_prefixes(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(SpecError, match="query_xs must be shaped like xs"):
        LeastSquares().predict_prefixes(np.zeros((2, 3, 4)), np.zeros((2, 3)), np.zeros((2, 3, 5)))
    with pytest.raises(SpecError, match="NaN"):
        LeastSquares().predict_prefixes(np.full((2, 3, 4), np.nan), np.zeros((2, 3)))
    with pytest.raises(SpecError, match="fit needs"):
        LeastSquares().fit(np.zeros((3, 2)), np.zeros(4))
