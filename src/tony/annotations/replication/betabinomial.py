"""Mixtures of beta distributions for selection frequencies, fitted to annotator counts by beta-binomial EM.

An image's true selection frequency s is drawn from a mixture of K beta distributions; its n
annotators say yes k ~ Binomial(n, s) times, so k follows a mixture of beta-binomials. EM treats both
the component and s as missing: given a component, s's posterior is Beta(a + k, b + n - k), whose
expected log s and log(1 - s) (digammas) are the beta's sufficient statistics, so the M-step is a
weighted beta maximum-likelihood fit (Minka's fixed point). Everything runs on histograms of (n, k)
cells and is vectorised over R histograms at once (the bootstrap's replicates share every iteration).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betainc, betaln, digamma, gammaln

MIN_SHAPE, MAX_SHAPE = 1e-3, 1e5
"""Shapes are kept in this range: a component may become nearly a point mass, never a degenerate one."""


@dataclass(frozen=True)
class BetaMixture:
    """R fitted mixtures of K betas: weights, a and b each of shape (R, K)."""

    weights: np.ndarray
    a: np.ndarray
    b: np.ndarray
    loglik: np.ndarray
    """Log-likelihood of each replicate's counts, shape (R,)."""
    iterations: int

    def cell_masses(self, edges: np.ndarray) -> np.ndarray:
        """Probability of each interval between consecutive `edges` (shape (R, len(edges) - 1)).

        From the beta CDF, so a density that is infinite at 0 or 1 (a or b below 1) is integrated exactly.
        """
        cdf = betainc(self.a[..., None], self.b[..., None], edges)  # (R, K, E)
        return np.einsum("rk,rke->re", self.weights, np.diff(cdf, axis=-1))

    def mean(self) -> np.ndarray:
        """Mean selection frequency of each replicate's mixture, shape (R,)."""
        return (self.weights * self.a / (self.a + self.b)).sum(axis=1)


def log_betabinom(k: np.ndarray, n: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log P(k | n, a, b) of the beta-binomial, broadcast over its arguments."""
    return (gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1) + betaln(k + a, n - k + b) - betaln(a, b))


def fit_beta_mixture(n: np.ndarray, k: np.ndarray, counts: np.ndarray, components: int = 3, *,
                     start: BetaMixture | None = None, tol: float = 1e-6, max_iter: int = 500) -> BetaMixture:
    """Maximum-likelihood mixtures of `components` betas for R histograms of annotator counts.

    `n`, `k`: the C cells (annotators, yes answers); `counts`: (R, C) or (C,) images per cell (floats
    allowed). `start` (one mixture, or one per histogram) warm-starts the fits, e.g. bootstrap replicates
    from the fit to the full sample. Stops when no
    replicate's log-likelihood per image improves by more than `tol` in an iteration: EM creeps along
    the likelihood's flat ridges (mixtures that give the counts nearly the same probability), where the
    distribution of s, which is all the estimators use, no longer changes.
    """
    counts = np.atleast_2d(np.asarray(counts, dtype=float))
    n, k = np.asarray(n, dtype=float), np.asarray(k, dtype=float)
    total = counts.sum(axis=1)
    if start is None:
        weights, a, b = _initial(n, k, counts, components)
    else:
        weights, a, b = (np.broadcast_to(x, (len(counts), components)).copy()
                         for x in (start.weights, start.a, start.b))
    previous = np.full(len(counts), -np.inf)
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        log_joint = np.log(np.maximum(weights, 1e-300))[:, :, None] + log_betabinom(
            k[None, None], n[None, None], a[:, :, None], b[:, :, None])  # (R, K, C)
        log_marginal = np.logaddexp.reduce(log_joint, axis=1)  # (R, C)
        loglik = (counts * log_marginal).sum(axis=1)
        responsibility = np.exp(log_joint - log_marginal[:, None]) * counts[:, None]  # (R, K, C) images
        mass = responsibility.sum(axis=2)  # (R, K)
        weights = mass / total[:, None]
        # Expected log s and log(1 - s) of each component's posterior Beta(a + k, b + n - k).
        both = digamma(a[:, :, None] + b[:, :, None] + n)
        safe = np.maximum(mass, 1e-300)
        log_s = (responsibility * (digamma(a[:, :, None] + k) - both)).sum(axis=2) / safe
        log_1ms = (responsibility * (digamma(b[:, :, None] + n - k) - both)).sum(axis=2) / safe
        a, b = _beta_mle(log_s, log_1ms, a, b)
        if np.all(loglik - previous <= tol * total):
            break
        previous = loglik
    return BetaMixture(weights, a, b, loglik, iterations)


def _initial(n: np.ndarray, k: np.ndarray, counts: np.ndarray, components: int):
    """Components centred on the quantiles of the observed frequency k / n, concentration 10, equal weights."""
    frequency = k / n
    order = np.argsort(frequency)
    cumulative = np.cumsum(counts[0, order]) / counts[0].sum()
    centres = [frequency[order][np.searchsorted(cumulative, (i + 0.5) / components)] for i in range(components)]
    mean = np.clip(np.array(centres, dtype=float), 0.05, 0.95)
    # Equal centres (a histogram piled on one value) are spread apart so the components can differ.
    mean = np.clip(mean + np.linspace(-0.02, 0.02, components), 0.01, 0.99)
    shape = (len(counts), components)
    return (np.full(shape, 1.0 / components), np.broadcast_to(10 * mean, shape).copy(),
            np.broadcast_to(10 * (1 - mean), shape).copy())


def _beta_mle(log_s: np.ndarray, log_1ms: np.ndarray, a: np.ndarray, b: np.ndarray, steps: int = 2):
    """Beta shapes whose expected log s and log(1 - s) are the given ones: Minka's fixed point
    psi(a) = psi(a + b) + E log s, warm-started at the previous shapes. A few steps per EM iteration
    suffice (a generalised EM: every step raises the likelihood)."""
    for _ in range(steps):
        both = digamma(a + b)
        a, b = _inverse_digamma(both + log_s), _inverse_digamma(both + log_1ms)
        a, b = np.clip(a, MIN_SHAPE, MAX_SHAPE), np.clip(b, MIN_SHAPE, MAX_SHAPE)
    return a, b


def _inverse_digamma(y: np.ndarray, steps: int = 4) -> np.ndarray:
    """x with digamma(x) = y, by Newton's method from Minka's starting point."""
    y = np.minimum(y, np.log(MAX_SHAPE) + 1.0)
    x = np.where(y >= -2.22, np.exp(y) + 0.5, -1.0 / (y - digamma(1.0)))
    for _ in range(steps):
        x = x - (digamma(x) - y) / trigamma(x)
        x = np.maximum(x, MIN_SHAPE / 10)
    return x


def trigamma(x: np.ndarray) -> np.ndarray:
    """psi'(x) for x > 0: psi'(x) = sum_{i<6} 1 / (x + i)^2 + psi'(x + 6), the last by its asymptotic series
    (relative error below 1e-8). scipy's polygamma goes through the Hurwitz zeta, many times slower."""
    x = np.asarray(x, dtype=float)
    head = 1 / x**2 + 1 / (x + 1) ** 2 + 1 / (x + 2) ** 2 + 1 / (x + 3) ** 2 + 1 / (x + 4) ** 2 + 1 / (x + 5) ** 2
    inv = 1 / (x + 6)
    inv2 = inv * inv
    return head + inv + inv2 / 2 + inv * inv2 * (1 / 6 - inv2 * (1 / 30 - inv2 * (1 / 42 - inv2 / 30)))
