"""Intervals and paired comparisons, checked against facts computed independently of tony.core.stats."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from tony.core import stats
from tony.core.stats import (
    Bootstrap,
    bootstrap,
    bootstrap_ci,
    compare_paired,
    mcnemar_exact,
    mean_stat,
    paired_bootstrap,
    proportion_stat,
    spread_over_draws,
)

Z_975 = 1.959963984540054


def normal_interval(values: np.ndarray) -> tuple[float, float]:
    """mean ± 1.96·sd/√n."""
    half = Z_975 * values.std(ddof=1) / math.sqrt(len(values))
    return values.mean() - half, values.mean() + half


def binomial_two_sided(a_only: int, b_only: int) -> float:
    """Exact McNemar p-value from integer binomial coefficients: 2·P(X <= min) for X ~ Bin(n, 1/2), capped at 1."""
    n, k = a_only + b_only, min(a_only, b_only)
    tail = Fraction(sum(math.comb(n, i) for i in range(k + 1)), 2**n)
    return float(min(Fraction(1), 2 * tail))


def t_quantile_975(df: int) -> float:
    """Student's t 97.5% quantile by bisection on its CDF, the density integrated with Simpson's rule."""
    scale = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)

    def cdf(x: float, steps: int = 2000) -> float:
        grid = np.linspace(0.0, x, steps + 1)
        density = scale * (1 + grid**2 / df) ** (-(df + 1) / 2)
        weights = np.ones(steps + 1)
        weights[1:-1:2], weights[2:-1:2] = 4, 2
        return 0.5 + float((weights * density).sum()) * (x / steps) / 3

    low, high = 0.0, 20.0
    for _ in range(50):
        mid = (low + high) / 2
        low, high = (mid, high) if cdf(mid) < 0.975 else (low, mid)
    return (low + high) / 2


# bootstrap intervals ---------------------------------------------------
def test_bootstrap_interval_of_a_mean_matches_normal_theory() -> None:
    values = np.random.default_rng(1).normal(loc=3.0, scale=2.0, size=2000)
    low, high = bootstrap_ci(values, resamples=4000, seed=0)
    normal_low, normal_high = normal_interval(values)
    half = (normal_high - normal_low) / 2
    assert low < values.mean() < high
    # Monte Carlo error of a 2.5% quantile from 4000 resamples is about 0.04 of the half-width.
    assert abs(low - normal_low) < 0.1 * half and abs(high - normal_high) < 0.1 * half


def test_bootstrap_interval_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(7)
    samples = rng.normal(loc=1.0, scale=1.0, size=(300, 100))
    covered = [low <= 1.0 <= high for low, high in (bootstrap_ci(s, seed=i) for i, s in enumerate(samples))]
    # Binomial(300, ~0.95): sd of the rate is ~0.013, so these bounds are four sd away or more.
    assert 0.89 < np.mean(covered) < 0.995


def test_bootstrap_is_deterministic_given_the_seed() -> None:
    values = np.random.default_rng(2).uniform(size=50)
    assert bootstrap_ci(values, seed=5) == bootstrap_ci(list(values), seed=5)
    assert bootstrap_ci(values, seed=5) != bootstrap_ci(values, seed=6)


def test_bootstrap_of_vector_rows_with_a_statistic() -> None:
    rng = np.random.default_rng(3)
    rows = np.column_stack([rng.normal(2.0, 1.0, 500), rng.normal(1.0, 1.0, 500)])
    low, high = bootstrap_ci(rows, lambda s: s[..., 0].mean(axis=1) - s[..., 1].mean(axis=1), seed=0)
    assert low < rows[:, 0].mean() - rows[:, 1].mean() < high
    assert 0.5 < low < high < 1.5


def test_bootstrap_of_a_large_sample_is_drawn_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    values = np.random.default_rng(4).normal(size=1000)
    whole = bootstrap_ci(values, resamples=2000, seed=0)
    monkeypatch.setattr(stats, "MAX_RESAMPLED_VALUES", 7 * len(values))  # 7 resamples at a time
    chunked = bootstrap_ci(values, resamples=2000, seed=0)
    assert chunked == whole  # the generator hands out the same indices whatever the chunks
    normal_low, normal_high = normal_interval(values)
    assert abs(whole[0] - normal_low) < 0.15 * (normal_high - normal_low) / 2
    assert abs(whole[1] - normal_high) < 0.15 * (normal_high - normal_low) / 2


def loop_bootstrap(values: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """The textbook bootstrap of a mean: one resample at a time from the same generator."""
    rng = np.random.default_rng(seed)
    return np.array([values[rng.integers(0, len(values), size=len(values))].mean() for _ in range(resamples)])


def test_bootstrap_draws_what_a_one_at_a_time_loop_draws() -> None:
    values = np.random.default_rng(9).exponential(size=333)
    result = bootstrap(values, resamples=500, seed=4)
    np.testing.assert_array_equal(result.estimates, loop_bootstrap(values, 500, 4))
    alpha = (1 - 0.95) / 2
    assert (result.low, result.high) == tuple(np.quantile(result.estimates, [alpha, 1 - alpha]))
    assert (float(result.low), float(result.high)) == bootstrap_ci(values, resamples=500, seed=4)


def test_intervals_stored_by_the_previous_code_recompute_identically() -> None:
    # Computed by the code before the kernel's single bootstrap (commit bdc4737): same draws, same ends.
    stat = mean_stat("x", [0.2, 0.9, 0.4, 0.4, 1.0, 0.0, 0.7, 0.3], seed=0)
    assert (stat.value, stat.ci_low, stat.ci_high) == (0.48750000000000004, 0.275, 0.7124999999999999)
    assert paired_bootstrap([1, 0, 1, 1, 0, 1], [0, 0, 1, 0, 0, 1]) == (
        0.3333333333333333, 0.0, 0.6666666666666666, 0.16983016983016982)


def test_a_statistic_of_several_numbers_gets_each_its_own_interval_from_the_same_resamples(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rows = np.random.default_rng(10).normal(size=(400, 3)) * [1.0, 2.0, 3.0]
    both = bootstrap(rows, lambda s: np.stack([s[..., 0].mean(axis=1), s[..., 2].max(axis=1)], axis=1), seed=2)
    assert both.estimates.shape == (1000, 2) and both.low.shape == both.high.shape == (2,)
    assert (float(both.low[0]), float(both.high[0])) == bootstrap_ci(rows, lambda s: s[..., 0].mean(axis=1), seed=2)
    assert (float(both.low[1]), float(both.high[1])) == bootstrap_ci(rows, lambda s: s[..., 2].max(axis=1), seed=2)
    # One (resamples, n) block of indices, as a caller drawing them itself would (the calibration stats did).
    picks = np.random.default_rng(2).integers(0, 400, size=(1000, 400))
    np.testing.assert_array_equal(both.estimates[:, 1], rows[picks, 2].max(axis=1))
    monkeypatch.setattr(stats, "MAX_RESAMPLED_VALUES", 5 * rows.size)  # 5 resamples a chunk
    chunked = bootstrap(rows, lambda s: np.stack([s[..., 0].mean(axis=1), s[..., 2].max(axis=1)], axis=1), seed=2)
    np.testing.assert_array_equal(chunked.estimates, both.estimates)


def test_an_all_equal_sample_has_a_zero_width_interval() -> None:
    result = bootstrap([0.1] * 50, seed=3)
    assert result.low == result.high == pytest.approx(0.1, rel=1e-15)
    assert bootstrap_ci([7.0]) == (7.0, 7.0)


def test_the_interval_of_two_values_by_hand() -> None:
    # A resample of (0, 1) has mean 0, 1/2 or 1 with probabilities 1/4, 1/2, 1/4. With 1000 resamples the share
    # of zeros is 0.25 +- 0.014, so the 2.5% quantile is 0 and the 30% quantile is 1/2 (3.6 sd away).
    assert bootstrap_ci([0.0, 1.0]) == (0.0, 1.0)
    assert bootstrap_ci([0.0, 1.0], confidence=0.4) == (0.5, 0.5)
    assert proportion_stat("x", [False, True]).ci_low == 0.0 and proportion_stat("x", [False, True]).ci_high == 1.0


def test_bootstrap_percentile_interval_by_hand() -> None:
    interval = Bootstrap.percentile(np.arange(101.0), 0.9)  # 5% and 95% of 0..100 by linear interpolation
    assert interval.low == pytest.approx(5.0) and interval.high == pytest.approx(95.0)


def test_bootstrap_needs_rows_resamples_and_a_confidence_below_one() -> None:
    for args in ({"data": []}, {"data": [1.0], "resamples": 0}, {"data": [1.0], "confidence": 1.0}):
        with pytest.raises(ValueError, match="a bootstrap needs rows"):
            bootstrap(**args)


def binomial_quantile(n: int, p: float, q: float) -> int:
    """The smallest k with P(Binomial(n, p) <= k) >= q, the probabilities summed in order (in log space)."""
    total = 0.0
    for k in range(n + 1):
        log_choose = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
        total += math.exp(log_choose + k * math.log(p) + (n - k) * math.log1p(-p))
        if total >= q:
            return k
    return n


@pytest.mark.parametrize(("n", "successes"), [(100, 30), (1000, 120), (3000, 2400)])
def test_a_fraction_bootstrapped_two_ways_matches_the_exact_binomial_quantiles(n: int, successes: int) -> None:
    # The bootstrap distribution of a mean of 0/1 values is Binomial(n, p) / n: its exact 2.5% and 97.5% quantiles
    # are what both the closed form (proportion_stat) and resampling (mean_stat) estimate.
    values = [True] * successes + [False] * (n - successes)
    exact = [binomial_quantile(n, successes / n, q) / n for q in (0.025, 0.975)]
    closed, resampled = proportion_stat("x", values, seed=1), mean_stat("x", values, seed=2)
    assert closed.value == resampled.value == successes / n and closed.n == resampled.n == n
    step = math.sqrt(successes * (n - successes) / n) / n  # one standard error of the fraction
    # A 2.5% quantile from 1000 resamples is off by about 0.085 standard errors (sd), the fraction's lattice adds
    # up to 1/n; a 90% interval in place of the 95% one would be 0.31 standard errors too narrow at each end.
    margin = 0.2 * step + 1 / n
    for stat in (closed, resampled):
        assert abs(stat.ci_low - exact[0]) < margin and abs(stat.ci_high - exact[1]) < margin


def test_proportion_intervals_stored_by_the_previous_code_recompute_identically() -> None:
    # tony.annotations.multilabel's proportion_stat before it moved into the kernel (commit bdc4737) gave these.
    stat = proportion_stat("top1", [True] * 30 + [False] * 70, seed=0, split="m", subgroup="objects:1")
    assert (stat.value, stat.ci_low, stat.ci_high, stat.n, stat.split, stat.subgroup) == (
        0.3, 0.21, 0.39, 100, "m", "objects:1")
    assert proportion_stat("x", [True] * 5).ci_low == 1.0
    empty = proportion_stat("x", [])
    assert empty.n == 0 and math.isnan(empty.value) and math.isnan(empty.ci_low)


def test_mean_stat_and_empty_inputs() -> None:
    stat = mean_stat("accuracy", [1, 0, 1, 1], split="test", subgroup="a")
    assert (stat.name, stat.value, stat.n, stat.split, stat.subgroup) == ("accuracy", 0.75, 4, "test", "a")
    assert 0.0 <= stat.ci_low <= stat.value <= stat.ci_high <= 1.0
    empty = mean_stat("accuracy", [])
    assert empty.n == 0 and math.isnan(empty.value) and math.isnan(empty.ci_low) and math.isnan(empty.ci_high)
    assert all(math.isnan(x) for x in bootstrap_ci([]))


# McNemar ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("a_only", "b_only", "expected"),
    [
        (0, 5, 2 / 32),  # 2·P(X = 0) for Bin(5, 1/2)
        (5, 0, 2 / 32),
        (1, 9, 2 * 11 / 1024),  # 2·(1 + 10)/2^10
        (3, 3, 1.0),  # symmetric: the tail holds over half the mass
        (10, 11, 1.0),
        (0, 0, 1.0),  # no discordant pairs: no evidence
    ],
)
def test_mcnemar_known_values(a_only: int, b_only: int, expected: float) -> None:
    assert mcnemar_exact(a_only, b_only) == pytest.approx(expected, rel=1e-12)


def test_mcnemar_matches_a_direct_binomial_sum() -> None:
    for a_only in range(0, 40, 3):
        for b_only in range(0, 40, 4):
            assert mcnemar_exact(a_only, b_only) == pytest.approx(binomial_two_sided(a_only, b_only), rel=1e-9)
    # Large counts, where 2^n overflows a float, still agree with exact integer arithmetic.
    assert mcnemar_exact(900, 1100) == pytest.approx(binomial_two_sided(900, 1100), rel=1e-9)


def test_mcnemar_rejects_negative_counts() -> None:
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 3)


# paired comparisons ----------------------------------------------------
def test_paired_bootstrap_of_identical_inputs() -> None:
    values = np.random.default_rng(5).uniform(size=100)
    difference, low, high, p = paired_bootstrap(values, values)
    assert (difference, low, high, p) == (0.0, 0.0, 0.0, 1.0)


def test_paired_bootstrap_of_a_clear_difference() -> None:
    rng = np.random.default_rng(6)
    b = rng.normal(size=200)
    a = b + 0.5 + rng.normal(scale=0.1, size=200)
    difference, low, high, p = paired_bootstrap(a, b, resamples=999)
    assert low < difference < high and 0.4 < low and high < 0.6
    assert 0 < p <= 2 / 1000  # as small as 999 resamples can show, and never claimed to be zero


def test_paired_bootstrap_pairs_the_instances() -> None:
    # Large differences between instances, a small constant one within each pair: only pairing sees it.
    b = np.random.default_rng(8).normal(scale=10.0, size=100)
    _, low, high, p = paired_bootstrap(b + 0.1, b)
    assert low == pytest.approx(0.1) and high == pytest.approx(0.1) and p < 0.01


def test_paired_bootstrap_needs_paired_values() -> None:
    with pytest.raises(ValueError, match="one value per instance"):
        paired_bootstrap([1.0], [0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="at least one"):
        paired_bootstrap([], [])


def test_compare_paired_adds_mcnemar_for_binary_data_only() -> None:
    a = [1, 1, 1, 0, 1, 0, 1, 1]
    b = [0, 0, 1, 0, 1, 1, 0, 1]
    binary = compare_paired("exact_match", a, b)
    assert (binary.n, binary.mean_a, binary.mean_b, binary.difference) == (8, 0.75, 0.5, 0.25)
    assert (binary.a_only, binary.b_only) == (3, 1)
    assert binary.mcnemar_p == pytest.approx(binomial_two_sided(3, 1))
    assert binary.bootstrap_p == paired_bootstrap(a, b)[3]

    graded = compare_paired("f1", [0.5, 1, 1, 0], [0, 1, 0.25, 0])
    assert graded.a_only is None and graded.b_only is None and graded.mcnemar_p is None


# spread over draws -----------------------------------------------------
def test_spread_over_draws_uses_the_t_quantile() -> None:
    stat = spread_over_draws("accuracy", [1.0, 2.0, 3.0])  # mean 2, sd 1, n 3
    half = t_quantile_975(2) / math.sqrt(3)
    assert (stat.value, stat.n, stat.split) == (2.0, 3, "draws")
    assert stat.ci_low == pytest.approx(2.0 - half, abs=1e-3) and stat.ci_high == pytest.approx(2.0 + half, abs=1e-3)


@pytest.mark.parametrize("draws", [2, 3, 5, 8, 11, 12, 16, 25, 40, 100])
def test_spread_over_draws_half_width_is_t_times_standard_error(draws: int) -> None:
    values = np.random.default_rng(draws).normal(size=draws)
    stat = spread_over_draws("accuracy", values)
    standard_error = values.std(ddof=1) / math.sqrt(draws)
    assert (stat.ci_high - stat.value) / standard_error == pytest.approx(t_quantile_975(draws - 1), abs=1e-3)
    assert stat.value - stat.ci_low == pytest.approx(stat.ci_high - stat.value)


def test_spread_over_fewer_than_two_draws() -> None:
    single = spread_over_draws("accuracy", [0.7])
    assert (single.value, single.ci_low, single.ci_high, single.n) == (0.7, 0.7, 0.7, 1)
    empty = spread_over_draws("accuracy", [])
    assert empty.n == 0 and math.isnan(empty.value)
