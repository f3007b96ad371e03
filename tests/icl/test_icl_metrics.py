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


def test_position_curve_falls_back_to_the_kernel_for_huge_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    import tony.core.stats as stats
    import tony.icl.metrics as metrics

    errors = np.random.default_rng(1).normal(size=(50, 3))
    fast = position_curve(errors, resamples=200)
    # A sample is "huge" when its resamples would not fit in MAX_RESAMPLED_VALUES: the kernel then draws them in
    # chunks, and position_curve hands each position to the kernel. Lower both limits (position_curve reads its
    # own copy), so the chunked path of the kernel runs: 10 resamples of 50 prompts a chunk, 20 chunks.
    monkeypatch.setattr(stats, "MAX_RESAMPLED_VALUES", 500)
    monkeypatch.setattr(metrics, "MAX_RESAMPLED_VALUES", 500)
    calls: list[int] = []

    def counted_bootstrap_ci(*args, **kwargs):
        calls.append(1)
        return bootstrap_ci(*args, **kwargs)

    monkeypatch.setattr(metrics, "bootstrap_ci", counted_bootstrap_ci)
    slow = position_curve(errors, resamples=200)
    assert len(calls) == 3  # one kernel interval per position: the fallback ran
    # Chunked or in one block, the kernel draws the same indices from the same seed, so both paths give the
    # same intervals up to rounding.
    np.testing.assert_allclose(slow.mean, fast.mean, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(slow.low, fast.low, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(slow.high, fast.high, rtol=RTOL, atol=ATOL)
    assert np.all(slow.low < slow.mean) and np.all(slow.mean < slow.high)


def test_position_curve_errors() -> None:
    with pytest.raises(SpecError, match="errors must be"):
        position_curve(np.zeros(5))
    with pytest.raises(SpecError, match="confidence"):
        position_curve(np.zeros((3, 2)), confidence=1.5)
