"""Intervals and paired comparisons. No number is reported without n and an interval."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_RESAMPLES = 1000
MAX_RESAMPLED_VALUES = 1 << 24
"""Resample in chunks of at most this many values, so a large sample never needs gigabytes."""


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
    if len(data) == 0:
        return (math.nan, math.nan)
    estimates = _resample(data, statistic, resamples, seed)
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
    the smaller tail of the resampled differences around zero, add-one
    corrected: never below 2 / (resamples + 1), never above 1.
    """
    a_arr, b_arr = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a_arr.shape != b_arr.shape:
        raise ValueError(
            f"paired comparison needs one value per instance from each side, got {a_arr.shape} and {b_arr.shape}"
        )
    diff = a_arr - b_arr
    if len(diff) == 0:
        raise ValueError("paired comparison needs at least one shared instance")
    means = _resample(diff, None, resamples, seed)
    low, high = np.quantile(means, [0.025, 0.975])
    # Add-one (Davison & Hinkley): with R resamples no p-value below 2/(R+1) can be claimed, so never 0.
    tail = min(int((means <= 0).sum()), int((means >= 0).sum()))
    return float(diff.mean()), float(low), float(high), min(1.0, 2.0 * (tail + 1) / (resamples + 1))


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Exact two-sided McNemar p-value: a binomial test of a_only in a_only + b_only at 1/2."""
    if a_only < 0 or b_only < 0:
        raise ValueError(f"McNemar counts must be non-negative, got {a_only} and {b_only}")
    n = a_only + b_only
    if n == 0:
        return 1.0
    k = min(a_only, b_only)
    # P(X <= k) for X ~ Binomial(n, 1/2), summed in log space so large n does not overflow.
    log_terms = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2) for i in range(k + 1)
    ]
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
    if n == 0:
        return Stat(name, math.nan, math.nan, math.nan, 0, split="draws")
    mean = float(data.mean())
    if n < 2:
        return Stat(name, mean, mean, mean, n, split="draws")
    half = _t_quantile_975(n - 1) * float(data.std(ddof=1)) / math.sqrt(n)
    return Stat(name, mean, mean - half, mean + half, n, split="draws")


def _resample(
    data: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray] | None, resamples: int, seed: int
) -> np.ndarray:
    """`statistic` (the mean by default) of `resamples` resamples of the rows of `data`, drawn in chunks."""
    rng = np.random.default_rng(seed)
    n = len(data)
    rows_per_chunk = max(1, MAX_RESAMPLED_VALUES // max(1, data[:1].size * n))
    estimates = []
    for start in range(0, resamples, rows_per_chunk):
        sample = data[rng.integers(0, n, size=(min(rows_per_chunk, resamples - start), n))]
        estimates.append(sample.mean(axis=1) if statistic is None else np.asarray(statistic(sample)))
    return np.concatenate(estimates)


_T_975 = (12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281)
"""97.5% quantiles of t with 1 to 10 degrees of freedom."""
_Z_975 = 1.959963984540054


def _t_quantile_975(df: int) -> float:
    """97.5% quantile of Student's t: a table for df <= 10, the Cornish-Fisher expansion beyond (error < 1e-4)."""
    if df <= len(_T_975):
        return _T_975[df - 1]
    z = _Z_975
    terms = (
        (z**3 + z) / 4,
        (5 * z**5 + 16 * z**3 + 3 * z) / 96,
        (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384,
        (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160,
    )
    return z + sum(term / df**power for power, term in enumerate(terms, start=1))


def mean_win_rate(table: dict[str, dict[str, float]], *, higher_is_better: bool = True) -> dict[str, float]:
    """HELM's mean win rate: ``table[model][column]`` -> per model, the fraction of the other models
    it beats in a column (a tie counts half), averaged over the columns it has a value in.

    A model alone in every one of its columns gets no win rate (it is left out of the result).
    """
    sign = 1.0 if higher_is_better else -1.0
    columns = sorted({c for row in table.values() for c in row})
    rates: dict[str, list[float]] = {m: [] for m in table}
    for column in columns:
        present = {m: sign * row[column] for m, row in table.items()
                   if column in row and not math.isnan(row[column])}
        if len(present) < 2:
            continue
        for model, value in present.items():
            others = [v for m, v in present.items() if m != model]
            wins = sum(1.0 if value > v else 0.5 if value == v else 0.0 for v in others)
            rates[model].append(wins / len(others))
    return {m: float(np.mean(r)) for m, r in rates.items() if r}
