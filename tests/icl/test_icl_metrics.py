"""Normalized squared error and per-position bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pytest

from tony.core.errors import SpecError
from tony.core.stats import bootstrap_ci
from tony.icl.metrics import normalized_squared_error, position_curve


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
        assert curve.low[k] == pytest.approx(low, rel=1e-9)
        assert curve.high[k] == pytest.approx(high, rel=1e-9)
    assert (curve.low < curve.mean).all() and (curve.mean < curve.high).all()
    record = curve.as_dict()
    assert len(record["mean"]) == 6 and record["n"] == 300


def test_position_curve_falls_back_to_the_kernel_for_huge_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    import tony.icl.metrics as metrics

    errors = np.random.default_rng(1).normal(size=(50, 3))
    fast = position_curve(errors, resamples=200)
    monkeypatch.setattr(metrics, "MAX_RESAMPLED_VALUES", 10)  # forces the chunked path of the kernel
    slow = position_curve(errors, resamples=200)
    np.testing.assert_allclose(fast.mean, slow.mean)
    assert np.all(np.abs(fast.low - slow.low) < 0.2) and np.all(slow.low < slow.high)


def test_position_curve_errors() -> None:
    with pytest.raises(SpecError, match="errors must be"):
        position_curve(np.zeros(5))
    with pytest.raises(SpecError, match="confidence"):
        position_curve(np.zeros((3, 2)), confidence=1.5)
