"""Intervals and paired comparisons, checked against facts computed independently of tony.core.stats."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from tony.core import stats
from tony.core.stats import bootstrap_ci, compare_paired, mcnemar_exact, mean_stat, paired_bootstrap, spread_over_draws

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
    assert chunked == bootstrap_ci(values, resamples=2000, seed=0)
    normal_low, normal_high = normal_interval(values)
    for low, high in (whole, chunked):
        assert abs(low - normal_low) < 0.15 * (normal_high - normal_low) / 2
        assert abs(high - normal_high) < 0.15 * (normal_high - normal_low) / 2


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
