"""P(correct | s) as a monotone spline, fitted to a set's correct and wrong images through their annotator counts.

The curve is c(s) = sigmoid(b0 + sum_j b_j I_j(s)) with b_j >= 0 and I_j the quadratic I-splines
(integrated hat functions, each rising from 0 to 1), so c increases with s: an image annotators find
more recognisable is never harder for a model. s itself is never observed, only k yes answers from n
annotators, so the fit maximises the marginal likelihood of every image's (k, correct) pair,

    P(k, correct) = integral of Binomial(k | n, s) c(s) p(s) ds,

with p the set's fitted frequency mixture, integrated numerically on a grid of cells whose masses come
from the mixture's CDF. Many fits (models x bootstrap replicates) are solved at once by a damped
Newton method with exact gradients and Hessians, each problem with its own damping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, gammaln

GRID_CELLS = 256
"""Cells of [0, 1] for the numerical integrals (midpoint rule on CDF masses: error O(1/GRID_CELLS^2))."""
KNOTS = 6
MAX_SLOPE_LOG = 6.0
"""b_j <= e^6 (~400 logits per unit of s): keeps a curve on data it cannot resolve from running off."""
PRIOR_CENTRE, PRIOR_SD = np.log(0.5), 4.0
"""A weak normal prior on each log b_j: negligible where the data speak, it keeps the likelihood's flat
directions (a knot the data cannot resolve, b_j -> 0) from making Newton crawl towards -infinity."""


def grid(cells: int = GRID_CELLS) -> tuple[np.ndarray, np.ndarray]:
    """Edges (cells + 1) and midpoints (cells) of a uniform grid on [0, 1]."""
    edges = np.linspace(0.0, 1.0, cells + 1)
    return edges, (edges[:-1] + edges[1:]) / 2


def ispline_basis(s: np.ndarray, knots: int = KNOTS) -> np.ndarray:
    """Columns: 1, then `knots` quadratic I-splines centred at j / knots (j = 1..knots), each the normalised
    integral of a hat function of half-width 1 / knots, so each rises monotonically from 0 to 1."""
    s = np.asarray(s, dtype=float)[:, None]
    h = 1.0 / knots
    centre = np.arange(1, knots + 1) / knots
    low, high = centre - h, centre + h
    rising = (s - low) ** 2 / (2 * h * h)
    falling = 1.0 - (high - s) ** 2 / (2 * h * h)
    values = np.where(s <= low, 0.0, np.where(s <= centre, rising, np.where(s < high, falling, 1.0)))
    return np.hstack([np.ones((len(s), 1)), values])


def binomial_matrix(n: np.ndarray, k: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Binomial(k_c | n_c, s_g) for every cell c and grid point g, shape (C, G)."""
    n, k = np.asarray(n, dtype=float)[:, None], np.asarray(k, dtype=float)[:, None]
    log_choose = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
    with np.errstate(divide="ignore"):
        return np.exp(log_choose + k * np.log(s) + (n - k) * np.log1p(-s))


@dataclass(frozen=True)
class MonotoneFit:
    """P fitted curves: `params` (P, 1 + knots) as (b0, log b1, ..., log bJ)."""

    params: np.ndarray
    knots: int
    loglik: np.ndarray
    iterations: int

    def curve(self, s: np.ndarray) -> np.ndarray:
        """c(s) of every fit at the points `s`, shape (P, len(s))."""
        return expit(ispline_basis(s, self.knots) @ _coefficients(self.params).T).T


def _coefficients(params: np.ndarray) -> np.ndarray:
    return np.concatenate([params[:, :1], np.exp(params[:, 1:])], axis=1)


def fit_monotone(binom: np.ndarray, masses: np.ndarray, correct: np.ndarray, wrong: np.ndarray, *,
                 knots: int = KNOTS, max_iter: int = 100, tol: float = 1e-5) -> MonotoneFit:
    """Fit P monotone curves by maximum marginal likelihood.

    `binom`: (C, G) from `binomial_matrix` on the grid's midpoints; `masses`: (P, G) the frequency
    mixture's mass per grid cell for each problem; `correct`, `wrong`: (P, C) images per cell that the
    model got right and wrong.
    """
    _, mid = grid(binom.shape[1])
    basis = ispline_basis(mid, knots)  # (G, D)
    problems, dims = len(masses), basis.shape[1]
    accuracy = np.clip(correct.sum(1) / np.maximum(correct.sum(1) + wrong.sum(1), 1e-12), 0.01, 0.99)
    params = np.zeros((problems, dims))
    params[:, 1:] = PRIOR_CENTRE
    params[:, 0] = np.log(accuracy / (1 - accuracy)) - 0.5 * (masses @ basis[:, 1:]).sum(1)
    damping = np.full(problems, 1e-3)
    loglik, grad, hess = _derivatives(params, basis, binom, masses, correct, wrong)
    active = np.ones(problems, dtype=bool)
    iterations = 0
    while iterations < max_iter and active.any():
        iterations += 1
        idx = np.flatnonzero(active)
        # Damped Newton (Levenberg-Marquardt): solve (-H + lambda (|diag H| + 1)) step = grad, per problem.
        system = -hess[idx] + damping[idx, None, None] * (np.abs(np.diagonal(hess[idx], axis1=1, axis2=2))
                                                          + 1.0)[:, :, None] * np.eye(dims)
        step = np.linalg.solve(system, grad[idx][:, :, None])[:, :, 0]
        trial = params[idx] + step
        trial[:, 1:] = np.clip(trial[:, 1:], -30.0, MAX_SLOPE_LOG)
        new_ll, new_grad, new_hess = _derivatives(trial, basis, binom, masses[idx], correct[idx], wrong[idx])
        better = new_ll >= loglik[idx]
        gain = new_ll - loglik[idx]
        accepted = idx[better]
        params[accepted], grad[accepted], hess[accepted] = trial[better], new_grad[better], new_hess[better]
        loglik[accepted] = new_ll[better]
        damping[idx] = np.where(better, np.maximum(damping[idx] / 3, 1e-9), damping[idx] * 4)
        done = (better & (gain <= tol)) | (damping[idx] > 1e8)
        active[idx[done]] = False
    return MonotoneFit(params, knots, loglik, iterations)


def _derivatives(params: np.ndarray, basis: np.ndarray, binom: np.ndarray, masses: np.ndarray,
                 correct: np.ndarray, wrong: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-posterior (likelihood and the weak prior), gradient and Hessian in (b0, log b_j), per problem."""
    coef = _coefficients(params)
    c = expit(coef @ basis.T)  # (P, G)
    slope = c * (1 - c)
    curvature = slope * (1 - 2 * c)
    tiny = 1e-150  # squared below, so it must stay far from underflow
    s_right = np.maximum((masses * c) @ binom.T, tiny)  # (P, C)
    s_wrong = np.maximum((masses * (1 - c)) @ binom.T, tiny)
    loglik = (correct * np.log(s_right) + wrong * np.log(s_wrong)).sum(1)
    loglik -= (((params[:, 1:] - PRIOR_CENTRE) / PRIOR_SD) ** 2).sum(1) / 2
    r_right, r_wrong = (correct / s_right) @ binom, (wrong / s_wrong) @ binom  # (P, G)
    grad_b = ((r_right - r_wrong) * masses * slope) @ basis  # (P, D)
    dims = basis.shape[1]
    outer = (basis[:, :, None] * basis[:, None, :]).reshape(len(basis), dims * dims)
    hess_b = (((r_right - r_wrong) * masses * curvature) @ outer).reshape(-1, dims, dims)
    # Minus the outer products of each cell's score (the second term of the Hessian of a log of a sum).
    score = (binom[None] * (masses * slope)[:, None, :]) @ basis  # (P, C, D)
    per_cell = correct / s_right / s_right + wrong / s_wrong / s_wrong  # the scores are +-score / s
    hess_b -= np.matmul(score.transpose(0, 2, 1) * per_cell[:, None, :], score)
    # Chain rule to log b_j: d b_j / d log b_j = b_j.
    scale = np.concatenate([np.ones((len(params), 1)), coef[:, 1:]], axis=1)
    grad = grad_b * scale
    hess = hess_b * scale[:, :, None] * scale[:, None, :]
    diag = np.arange(1, scale.shape[1])
    hess[:, diag, diag] += grad[:, 1:] - 1 / PRIOR_SD**2
    grad[:, 1:] -= (params[:, 1:] - PRIOR_CENTRE) / PRIOR_SD**2
    return loglik, grad, hess
