"""Estimators of A, a model's accuracy on the replicated set re-weighted to the original set's selection
frequencies: A = integral of P_replicated(correct | s) p_original(s) ds. The corrected gap is the
original accuracy minus A; the raw gap is the original accuracy minus the replicated accuracy.

- naive: the plug-in on observed frequencies. With every image thinned to m annotators (the smallest
  count; an image with more contributes the hypergeometric probability of each j of m), T(m) =
  sum_j p_original(j) * accuracy_replicated(j). Matching on the noisy frequency makes T(m) close to the
  replicated accuracy, so it keeps the bias: T(m) = A + a / m + O(1 / m^2).
- jackknife: the delete-d jackknife over annotators, (m T(m) - (m - d) T(m - d)) / d, whose 1 / m
  term cancels; T(m - d) averages over every way of deleting d annotators (hypergeometric, exactly).
- parametric: both frequency distributions as beta mixtures (beta-binomial EM), P(correct | s) as a
  monotone spline fitted to the replicated set, A integrated numerically.

Intervals are 95% percentile bootstraps over images (each set resampled on its own): for the naive and
jackknife estimates from multinomial draws of each model's cell histogram (exactly a resample of
images, as far as that model's numbers go), for the parametric one from resampled images shared by
every model, since the frequency fits are shared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import hypergeom

from tony.annotations.replication.betabinomial import BetaMixture, fit_beta_mixture
from tony.annotations.replication.data import Cells, ReplicationData, cell_counts
from tony.annotations.replication.spline import KNOTS, binomial_matrix, fit_monotone, grid

CONFIDENCE = 0.95
LEVEL_STREAM, PARAMETRIC_STREAM = 31, 47
"""Tag the random streams of the two kinds of bootstrap, so they never coincide."""


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95% bootstrap interval."""

    value: float
    low: float
    high: float


def interval(point: float, replicates: np.ndarray) -> Estimate:
    alpha = (1 - CONFIDENCE) / 2
    low, high = np.quantile(replicates, [alpha, 1 - alpha])
    return Estimate(float(point), float(low), float(high))


def default_delete(annotators: int) -> int:
    """d for the delete-d jackknife: half the annotators (a short extrapolation, so a small variance)."""
    return max(1, annotators // 2)


def thinning_matrix(n: np.ndarray, k: np.ndarray, m: int) -> np.ndarray:
    """P(j of m kept annotators said yes | k of n did), shape (cells, m + 1): hypergeometric."""
    j = np.arange(m + 1)
    return hypergeom.pmf(j[None], np.asarray(n)[:, None], np.asarray(k)[:, None], m)


def level_accuracy(original: np.ndarray, replicated: np.ndarray, thin: np.ndarray) -> np.ndarray:
    """T(m) for histograms `original`, `replicated` of shape (R, cells, 2) ([..., 1] right), shape (R,).

    A level j that no replicated image can reach carries no accuracy; the original set's weight is
    spread over the other levels (the estimate is then over the levels both sets share).
    """
    weight = original.sum(axis=2) @ thin  # (R, m + 1)
    reach = replicated.sum(axis=2) @ thin
    right = replicated[..., 1] @ thin
    usable = reach > 1e-9 * np.maximum(reach.sum(axis=1, keepdims=True), 1.0)
    accuracy = np.where(usable, right / np.where(usable, reach, 1.0), 0.0)
    weight = weight * usable
    return (weight * accuracy).sum(axis=1) / np.maximum(weight.sum(axis=1), 1e-300)


def level_estimates(original: np.ndarray, replicated: np.ndarray, cells: Cells, m: int,
                    d: int) -> dict[str, np.ndarray]:
    """Raw accuracies and the naive and jackknife estimates of A, for histograms of shape (R, cells, 2)."""
    t_full = level_accuracy(original, replicated, thinning_matrix(cells.n, cells.k, m))
    t_less = level_accuracy(original, replicated, thinning_matrix(cells.n, cells.k, m - d))
    return {
        "accuracy_original": original[..., 1].sum(1) / original.sum((1, 2)),
        "accuracy_replicated": replicated[..., 1].sum(1) / replicated.sum((1, 2)),
        "naive": t_full,
        "jackknife": (m * t_full - (m - d) * t_less) / d,
    }


def bootstrap_levels(data: ReplicationData, cells: Cells, model: int, m: int, d: int, *, resamples: int,
                     seed: int) -> dict[str, Estimate]:
    """One model's raw accuracies and gaps, naive and jackknife, each with its bootstrap interval."""
    rng = np.random.default_rng([seed, LEVEL_STREAM, model])
    histograms = []
    for part, index in ((data.original, cells.original), (data.replicated, cells.replicated)):
        observed = cell_counts(index, part.correct[:, [model]], len(cells))[0]  # (cells, 2)
        draws = rng.multinomial(part.size, observed.ravel() / part.size, size=resamples).reshape(-1, *observed.shape)
        histograms.append(np.concatenate([observed[None], draws.astype(float)]))
    values = level_estimates(histograms[0], histograms[1], cells, m, d)
    values["gap_raw"] = values["accuracy_original"] - values["accuracy_replicated"]
    for method in ("naive", "jackknife"):
        values[f"gap_{method}"] = values["accuracy_original"] - values[method]
    return {name: interval(v[0], v[1:]) for name, v in values.items()}


@dataclass(frozen=True)
class FrequencyFits:
    """Both sets' frequency mixtures for the full sample (replicate 0) and each bootstrap replicate, with
    the image weights (how often each image was drawn) that made each replicate."""

    original: BetaMixture
    replicated: BetaMixture
    weights_original: np.ndarray
    """(R + 1, images of the original set); row 0 all ones."""
    weights_replicated: np.ndarray


def fit_frequencies(data: ReplicationData, cells: Cells, *, components: int, resamples: int,
                    seed: int) -> FrequencyFits:
    """Beta-mixture fits of both sets, the full sample and `resamples` bootstrap replicates of images."""
    rng = np.random.default_rng([seed, PARAMETRIC_STREAM])
    histograms, weights = [], []
    for part, index in ((data.original, cells.original), (data.replicated, cells.replicated)):
        drawn = rng.integers(0, part.size, size=(resamples, part.size))
        w = np.vstack([np.ones(part.size), *(np.bincount(row, minlength=part.size) for row in drawn)])
        histograms.append(np.stack([np.bincount(index, weights=row, minlength=len(cells)) for row in w]))
        weights.append(w)
    # Both sets in one vectorised EM: the full samples, then every replicate warm-started from its set's fit.
    full = fit_beta_mixture(cells.n, cells.k, np.vstack([h[:1] for h in histograms]), components)
    if resamples == 0:
        return FrequencyFits(_rows(full, [0]), _rows(full, [1]), weights[0], weights[1])
    rest = fit_beta_mixture(cells.n, cells.k, np.vstack([h[1:] for h in histograms]), components,
                            start=_rows(full, np.repeat([0, 1], resamples)))
    fits = [_join(_rows(full, [i]), _rows(rest, np.arange(i * resamples, (i + 1) * resamples))) for i in (0, 1)]
    return FrequencyFits(fits[0], fits[1], weights[0], weights[1])


def _rows(fit: BetaMixture, rows) -> BetaMixture:
    return BetaMixture(fit.weights[rows], fit.a[rows], fit.b[rows], fit.loglik[rows], fit.iterations)


def _join(first: BetaMixture, rest: BetaMixture) -> BetaMixture:
    return BetaMixture(np.concatenate([first.weights, rest.weights]), np.concatenate([first.a, rest.a]),
                       np.concatenate([first.b, rest.b]), np.concatenate([first.loglik, rest.loglik]),
                       max(first.iterations, rest.iterations))


def parametric(data: ReplicationData, cells: Cells, fits: FrequencyFits, models: list[int], *,
               knots: int = KNOTS, curve_points: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """For each replicate (row 0 the full sample) and model: the original accuracy, the parametric A and
    gap, shape (R + 1, len(models)); and, at `curve_points`, the full-sample fitted P(correct | s)."""
    edges, mid = grid()
    binom = binomial_matrix(cells.n, cells.k, mid)
    replicas = len(fits.weights_replicated)
    w2, y2 = fits.weights_replicated, data.replicated.correct[:, models].astype(float)
    right = np.zeros((replicas, len(models), len(cells)))
    total = np.zeros((replicas, len(cells)))
    for cell in range(len(cells)):
        members = np.flatnonzero(cells.replicated == cell)
        right[:, :, cell] = w2[:, members] @ y2[members]
        total[:, cell] = w2[:, members].sum(axis=1)
    masses_rep = fits.replicated.cell_masses(edges)  # (R + 1, G)
    masses_orig = fits.original.cell_masses(edges)
    fit = fit_monotone(binom, np.repeat(masses_rep, len(models), axis=0), right.reshape(-1, len(cells)),
                       (total[:, None, :] - right).reshape(-1, len(cells)), knots=knots)
    curves = fit.curve(mid).reshape(replicas, len(models), -1)
    corrected = np.einsum("rmg,rg->rm", curves, masses_orig)
    accuracy = fits.weights_original @ data.original.correct[:, models].astype(float) / data.original.size
    out = {"accuracy_original": accuracy, "parametric": corrected, "gap_parametric": accuracy - corrected}
    if curve_points is not None:
        out["curve"] = fit.curve(curve_points).reshape(replicas, len(models), -1)[0]
    return out
