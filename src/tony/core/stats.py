"""Intervals and paired comparisons. No number is reported without n and an interval."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_RESAMPLES = 1000


@dataclass(frozen=True)
class Stat:
    """One aggregate number of a run."""

    name: str
    """Metric name, e.g. exact_match or ece_10_bin."""
    value: float
    """The point estimate over all instances."""
    ci_low: float
    """Lower end of the 95% bootstrap interval."""
    ci_high: float
    """Upper end of the 95% bootstrap interval."""
    n: int
    """How many instances (or draws) the value is over."""
    split: str = ""
    """Which split or few-shot draw the value belongs to ("" for all)."""
    subgroup: str = ""
    """A subgroup of instances, e.g. a BBQ category ("" for all)."""


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray] | None = None,
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of `statistic` (the mean by default).

    `statistic` maps a (resamples, n, ...) array of resampled rows to
    (resamples,) values; rows may be vectors (e.g. confidence, correct).
    """
    data = np.asarray(values, dtype=float)
    n = len(data)
    if n == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    index = rng.integers(0, n, size=(resamples, n))
    if statistic is None:
        estimates = data[index].mean(axis=1)
    else:
        estimates = statistic(data[index])
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(estimates, [alpha, 1.0 - alpha])
    return float(low), float(high)


def mean_stat(name: str, values: Sequence[float], *, seed: int = 0, split: str = "", subgroup: str = "") -> Stat:
    """The mean of per-instance values with its bootstrap interval."""
    data = np.asarray(values, dtype=float)
    if len(data) == 0:
        return Stat(name, math.nan, math.nan, math.nan, 0, split, subgroup)
    low, high = bootstrap_ci(data, seed=seed)
    return Stat(name, float(data.mean()), low, high, len(data), split, subgroup)


@dataclass(frozen=True)
class PairedComparison:
    """Model A against model B on the same instances."""

    metric: str
    n: int
    mean_a: float
    mean_b: float
    difference: float
    """mean_a - mean_b."""
    ci_low: float
    ci_high: float
    bootstrap_p: float
    """Two-sided paired-bootstrap p-value for a difference of zero."""
    a_only: int | None = None
    """McNemar: instances A gets right and B wrong (binary metrics only)."""
    b_only: int | None = None
    mcnemar_p: float | None = None
    """McNemar's exact two-sided p-value (binary metrics only)."""


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], *, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> tuple[float, float, float, float]:
    """Difference of means with a paired bootstrap interval and p-value.

    Resamples instances (keeping each pair together). The p-value is twice
    the smaller tail of the resampled differences around zero.
    """
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(diff) == 0:
        raise ValueError("paired comparison needs at least one shared instance")
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(resamples, len(diff)))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    tail = min((means <= 0).mean(), (means >= 0).mean())
    return float(diff.mean()), float(low), float(high), float(min(1.0, 2.0 * tail))


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Exact two-sided McNemar p-value: a binomial test of a_only in a_only + b_only at 1/2."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    k = min(a_only, b_only)
    # P(X <= k) for X ~ Binomial(n, 1/2), summed in log space so large n does not overflow.
    log_terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2) for i in range(k + 1)]
    top = max(log_terms)
    tail = math.exp(top) * sum(math.exp(t - top) for t in log_terms)
    return min(1.0, 2.0 * tail)


def compare_paired(metric: str, a: Sequence[float], b: Sequence[float], *, seed: int = 0) -> PairedComparison:
    """Paired bootstrap, plus McNemar when every value is 0 or 1."""
    a_arr, b_arr = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff, low, high, p = paired_bootstrap(a_arr, b_arr, seed=seed)
    binary = np.isin(a_arr, (0.0, 1.0)).all() and np.isin(b_arr, (0.0, 1.0)).all()
    a_only = b_only = mcnemar_p = None
    if binary:
        a_only = int(((a_arr == 1) & (b_arr == 0)).sum())
        b_only = int(((a_arr == 0) & (b_arr == 1)).sum())
        mcnemar_p = mcnemar_exact(a_only, b_only)
    return PairedComparison(
        metric, len(a_arr), float(a_arr.mean()), float(b_arr.mean()), diff, low, high, p, a_only, b_only, mcnemar_p
    )


def spread_over_draws(name: str, values: Sequence[float]) -> Stat:
    """Mean over few-shot draws (or seeds) with a t interval over the draws."""
    data = np.asarray(values, dtype=float)
    n = len(data)
    mean = float(data.mean())
    if n < 2:
        return Stat(name, mean, mean, mean, n, split="draws")
    half = _t_quantile_975(n - 1) * float(data.std(ddof=1)) / math.sqrt(n)
    return Stat(name, mean, mean - half, mean + half, n, split="draws")


def _t_quantile_975(df: int) -> float:
    """97.5% quantile of Student's t, from a table for small df (normal beyond)."""
    table = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}
    return table.get(df, 1.96 + 2.4 / df)
