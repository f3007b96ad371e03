"""Normalized squared error per prompt position, with percentile-bootstrap intervals over prompts.

The error at position k is (prediction - target)^2 divided by the function class's
`normalizer(d)`, so predicting 0 scores about 1. The interval at each position is the
kernel's percentile bootstrap (`tony.core.stats.bootstrap`) over prompts, all positions from the
same resampled prompt sets (a prompt's errors are one row), so each position's interval is the one
`bootstrap_ci` gives its column with that seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tony.core.errors import SpecError
from tony.core.stats import DEFAULT_RESAMPLES, bootstrap

ICL_CONFIDENCE = 0.9
"""The paper's curves carry 90% bootstrap intervals."""


def normalized_squared_error(preds: Any, targets: Any, normalizer: float) -> np.ndarray:
    """``(preds - targets)^2 / normalizer``, elementwise: ``[n_prompts, n_points]`` in and out."""
    preds, targets = np.asarray(preds, dtype=np.float64), np.asarray(targets, dtype=np.float64)
    if preds.shape != targets.shape:
        raise SpecError(f"predictions {preds.shape} and targets {targets.shape} must have the same shape")
    if not normalizer > 0:
        raise SpecError(f"normalizer must be > 0, got {normalizer}")
    return (preds - targets) ** 2 / normalizer


@dataclass(frozen=True)
class PositionCurve:
    """Mean error per prompt position with its bootstrap interval."""

    mean: np.ndarray
    """Mean over prompts, [n_points]."""
    low: np.ndarray
    """Lower end of the interval, [n_points]."""
    high: np.ndarray
    """Upper end of the interval, [n_points]."""
    n: int
    """Number of prompts."""
    confidence: float
    """Coverage of the interval, e.g. 0.9."""

    def as_dict(self) -> dict[str, Any]:
        """Plain lists, for JSON records."""
        return {"mean": self.mean.tolist(), "low": self.low.tolist(), "high": self.high.tolist(),
                "n": self.n, "confidence": self.confidence}


def position_curve(
    errors: Any, *, confidence: float = ICL_CONFIDENCE, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> PositionCurve:
    """Summarize ``errors [n_prompts, n_points]`` per position: mean and percentile bootstrap interval."""
    data = np.asarray(errors, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] < 1:
        raise SpecError(f"errors must be [n_prompts >= 1, n_points], got shape {data.shape}")
    if not 0 < confidence < 1:
        raise SpecError(f"confidence must be in (0, 1), got {confidence}")
    interval = bootstrap(data, confidence=confidence, resamples=resamples, seed=seed)
    return PositionCurve(data.mean(axis=0), interval.low, interval.high, data.shape[0], confidence)
