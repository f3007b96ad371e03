"""Normalized squared error and per-position bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pytest

from tony.core.errors import SpecError
from tony.core.stats import bootstrap_ci
from tony.icl.metrics import normalized_squared_error, position_curve

RTOL, ATOL = 1e-14, 1e-15
"""How closely two computations of the same interval agree: rounding only (measured: 4e-16 relative, and
6e-17 absolute on values near 0; the margin is for another machine's summation order in the matrix product)."""


def test_normalized_squared_error() -> None:
    errors = normalized_squared_error([[1.0, 2.0]], [[0.0, 4.0]], 2.0)
    np.testing.assert_allclose(errors, [[0.5, 2.0]])
    with pytest.raises(SpecError, match="same shape"):
        normalized_squared_error(np.zeros((2, 3)), np.zeros((2, 4)), 1.0)
    with pytest.raises(SpecError, match="normalizer must be > 0"):
        normalized_squared_error(np.zeros(2), np.zeros(2), 0.0)


def test_position_curve_equals_the_kernel_bootstrap_per_position() -> None:
    errors = np.random.default_rng(0).exponential(size=(300, 6)) * np.arange(1, 7)
    curve = position_curve(errors, seed=3)
    assert curve.n == 300 and curve.confidence == 0.9
    np.testing.assert_allclose(curve.mean, errors.mean(axis=0))
    for k in range(6):
        low, high = bootstrap_ci(errors[:, k], confidence=0.9, seed=3)
        assert curve.low[k] == pytest.approx(low, rel=RTOL, abs=ATOL)
        assert curve.high[k] == pytest.approx(high, rel=RTOL, abs=ATOL)
    assert (curve.low < curve.mean).all() and (curve.mean < curve.high).all()
    record = curve.as_dict()
    assert len(record["mean"]) == 6 and record["n"] == 300


def test_position_curve_is_the_mean_of_the_same_resampled_prompt_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    import tony.core.stats as stats

    errors = np.random.default_rng(1).normal(size=(50, 3))
    curve = position_curve(errors, resamples=200, seed=7)
    # Independently: each resample as prompt counts (how often each prompt was drawn), its mean a matrix product.
    picks = np.random.default_rng(7).integers(0, 50, size=(200, 50))
    counts = np.stack([np.bincount(row, minlength=50) for row in picks]).astype(float)
    low, high = np.quantile(counts @ errors / 50, [0.05, 0.95], axis=0)
    np.testing.assert_allclose(curve.low, low, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(curve.high, high, rtol=RTOL, atol=ATOL)
    # A large sample is resampled in chunks (here one resample of 50 prompts x 3 positions at a time): same curve.
    monkeypatch.setattr(stats, "MAX_RESAMPLED_VALUES", 150)
    chunked = position_curve(errors, resamples=200, seed=7)
    np.testing.assert_array_equal(chunked.low, curve.low)
    np.testing.assert_array_equal(chunked.high, curve.high)


def test_position_curve_errors() -> None:
    with pytest.raises(SpecError, match="errors must be"):
        position_curve(np.zeros(5))
    with pytest.raises(SpecError, match="confidence"):
        position_curve(np.zeros((3, 2)), confidence=1.5)
