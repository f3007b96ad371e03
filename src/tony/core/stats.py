"""Intervals and paired comparisons. No number is reported without n and an interval."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tony.core.metric_info import HIGHER, Direction
from tony.core.stat_id import StatId

DEFAULT_RESAMPLES = 1000
MAX_RESAMPLED_VALUES = 1 << 20
"""Resample in chunks of at most this many values (8 MB of floats): a large sample never needs gigabytes, and a
chunk that stays in cache is gathered several times faster than one block (benchmarks/bench_bootstrap.py)."""


@dataclass(frozen=True)
class Stat:
    """One aggregate number of a run."""

    name: str
    """Display name, e.g. exact_match, ece_10_bin, accuracy@robustness:typos: `StatId.name` of its fields."""
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
    metric: str = ""
    """The registered metric it is a value of (set from `name` when "", for a stat named by its metric)."""
    family: str = ""
    """The family it is reported under; "" for the one its metric declares (filled in when stored)."""
    variant: str = ""
    """The perturbation it is on ("" unperturbed; see `tony.core.stat_id.StatId.variant`)."""
    at: str = ""
    """The point of a curve it is at, e.g. the k of nse@k ("" for none)."""

    def __post_init__(self) -> None:
        if not self.metric:
            object.__setattr__(self, "metric", self.name)
        if self.id.name != self.name:
            raise ValueError(f"stat '{self.name}' has the fields of '{self.id.name}': give a name that matches them")

    @property
    def id(self) -> StatId:
        """Its structured identity."""
        return StatId(self.metric, self.family, self.split, self.subgroup, self.variant, self.at)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Stat:
        """The stat of a stored row (as `Store.stats` returns it)."""
        return cls(row["name"], row["value"], row["ci_low"], row["ci_high"], row["n"], row["split"], row["subgroup"],
                   row["metric"], row["family"], row["variant"], row["at"])


@dataclass(frozen=True)
class Bootstrap:
    """A statistic's bootstrap distribution and its percentile interval."""

    estimates: np.ndarray
    """The statistic of each resample: (resamples,) for one number, (resamples, k, ...) for several at once."""
    low: np.ndarray
    """Lower end of the percentile interval, one per number of the statistic (shape estimates.shape[1:])."""
    high: np.ndarray
    """Upper end of the percentile interval."""

    @classmethod
    def percentile(cls, estimates: np.ndarray, confidence: float) -> Bootstrap:
        """The bootstrap distribution `estimates` with its percentile interval at `confidence`."""
        alpha = (1.0 - confidence) / 2.0
        low, high = np.quantile(estimates, [alpha, 1.0 - alpha], axis=0)
        return cls(estimates, low, high)


def bootstrap(
    data: Sequence[float] | np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray] | None = None,
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Bootstrap:
    """Percentile bootstrap of `statistic` (the mean by default) over the rows of `data`.

    The resamples are one (resamples, n) array of row indices from ``np.random.default_rng(seed)``, drawn and
    used in chunks of at most MAX_RESAMPLED_VALUES resampled values; the generator gives the same indices
    whatever the chunking, so the interval does not depend on it. `statistic` maps a chunk of resampled rows,
    (chunk, n, ...), to (chunk,) values, or to (chunk, k, ...) for several numbers from the same resamples
    (e.g. accuracy at every coverage); rows may be vectors (e.g. confidence, correct).
    """
    rows = np.asarray(data, dtype=float)
    n = len(rows)
    if n == 0 or resamples < 1 or not 0.0 < confidence < 1.0:
        raise ValueError(f"a bootstrap needs rows, resamples >= 1 and a confidence in (0, 1), got {n} rows, "
                         f"{resamples} resamples and confidence {confidence}")
    rng = np.random.default_rng(seed)
    per_chunk = max(1, MAX_RESAMPLED_VALUES // max(1, rows[:1].size * n))
    chunks = []
    for start in range(0, resamples, per_chunk):
        sample = rows[rng.integers(0, n, size=(min(per_chunk, resamples - start), n))]
        chunks.append(sample.mean(axis=1) if statistic is None else np.asarray(statistic(sample)))
    return Bootstrap.percentile(np.concatenate(chunks), confidence)


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray] | None = None,
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """`bootstrap`'s interval of a statistic that is one number, as floats ((nan, nan) without values)."""
    if len(values) == 0:
        return (math.nan, math.nan)
    interval = bootstrap(values, statistic, confidence=confidence, resamples=resamples, seed=seed)
    return float(interval.low), float(interval.high)


def mean_stat(name: str, values: Sequence[float], *, seed: int = 0, split: str = "", subgroup: str = "",
              **identity: str) -> Stat:
    """The mean of per-instance values with its bootstrap interval; `identity` (metric=, family=, variant=, at=)
    names the fields of a stat whose name is more than its metric (see `Stat`)."""
    data = np.asarray(values, dtype=float)
    if len(data) == 0:
        return Stat(name, math.nan, math.nan, math.nan, 0, split, subgroup, **identity)
    low, high = bootstrap_ci(data, seed=seed)
    return Stat(name, float(data.mean()), low, high, len(data), split, subgroup, **identity)


def proportion_stat(name: str, values: Sequence[bool], *, seed: int = 0, split: str = "", subgroup: str = "") -> Stat:
    """The fraction of true values with its 95% bootstrap interval, the bootstrap drawn in closed form.

    A resample's sum of n values that are 0 or 1 is Binomial(n, p), p the observed fraction: drawing the sums
    gives the distribution `mean_stat` samples by resampling, from DEFAULT_RESAMPLES draws instead of n times as
    many (for 10,000 values, under 1 ms instead of 40 ms). Other draws, so its interval agrees with `mean_stat`'s to
    within Monte Carlo error, not to the bit.
    """
    n = len(values)
    if n == 0:
        return Stat(name, math.nan, math.nan, math.nan, 0, split, subgroup)
    fraction = sum(values) / n
    sums = np.random.default_rng(seed).binomial(n, fraction, size=DEFAULT_RESAMPLES)
    interval = Bootstrap.percentile(sums / n, 0.95)
    return Stat(name, fraction, float(interval.low), float(interval.high), n, split, subgroup)


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
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, *, resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
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
    interval = bootstrap(diff, resamples=resamples, seed=seed)
    means = interval.estimates
    # Add-one (Davison & Hinkley): with R resamples no p-value below 2/(R+1) can be claimed, so never 0.
    tail = min(int((means <= 0).sum()), int((means >= 0).sum()))
    p_value = min(1.0, 2.0 * (tail + 1) / (resamples + 1))
    return float(diff.mean()), float(interval.low), float(interval.high), p_value


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


def mean_win_rate(table: dict[str, dict[str, float]], directions: Mapping[str, Direction] | None = None) -> dict[
    str, float
]:
    """HELM's mean win rate: ``table[model][column]`` -> per model, the fraction of the other models
    it beats in a column (a tie counts half), averaged over the columns it has a value in.

    Each column is ranked by its metric's direction in `directions` (larger is better for a column it does not
    name); a column whose metric has no order is left out. A model alone in every one of its columns gets no win
    rate (it is left out of the result).
    """
    columns = sorted({c for row in table.values() for c in row})
    rates: dict[str, list[float]] = {m: [] for m in table}
    for column in columns:
        direction = (directions or {}).get(column, HIGHER)
        if not direction.ordered:
            continue
        present = {m: direction.rank(row[column]) for m, row in table.items()
                   if column in row and not math.isnan(row[column])}
        if len(present) < 2:
            continue
        for model, value in present.items():
            others = [v for m, v in present.items() if m != model]
            wins = sum(1.0 if value > v else 0.5 if value == v else 0.0 for v in others)
            rates[model].append(wins / len(others))
    return {m: float(np.mean(r)) for m, r in rates.items() if r}


# showing stats ---------------------------------------------------------------


def headline_stats(stats: Sequence[Stat]) -> dict[str, dict[str, dict[str, float]]]:
    """split -> stat name -> {value, ci_low, ci_high, n}, for the stats over all instances (no subgroup, not a
    point on a curve): what a domain command prints after a run."""
    rows: dict[str, dict[str, dict[str, float]]] = {}
    for stat in stats:
        if not stat.subgroup and not stat.at:
            rows.setdefault(stat.split, {})[stat.name] = {"value": stat.value, "ci_low": stat.ci_low,
                                                          "ci_high": stat.ci_high, "n": stat.n}
    return rows


def interval_text(stat: Mapping[str, Any] | None, missing: str = "") -> str:
    """A stat as "0.123 [0.100, 0.150]" from a mapping with value, ci_low and ci_high (a store row, or an entry of
    `headline_stats`); `missing` where there is none or its value is not a number."""
    if stat is None or stat["value"] is None or stat["value"] != stat["value"]:
        return missing
    return f"{stat['value']:.3f} [{stat['ci_low']:.3f}, {stat['ci_high']:.3f}]"
