"""Estimators against closed forms: beta-binomial EM, the level estimator and its jackknife, the integrals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.special import expit, polygamma
from scipy.stats import beta, betabinom

from tony.annotations.replication import estimators as E
from tony.annotations.replication.betabinomial import fit_beta_mixture, trigamma
from tony.annotations.replication.data import Cells
from tony.annotations.replication.spline import binomial_matrix, fit_monotone, grid, ispline_basis


def test_trigamma_matches_scipy():
    x = np.geomspace(1e-4, 1e5, 500)
    np.testing.assert_allclose(trigamma(x), polygamma(1, x), rtol=1e-9)


def test_em_recovers_a_known_mixture_from_a_large_sample():
    rng = np.random.default_rng(0)
    size, n = 200_000, 20
    first = rng.random(size) < 0.3
    s = np.where(first, rng.beta(2, 8, size), rng.beta(20, 3, size))
    counts = np.bincount(rng.binomial(n, s), minlength=n + 1)
    fit = fit_beta_mixture(np.full(n + 1, n), np.arange(n + 1), counts, 2, tol=1e-9, max_iter=1000)
    order = np.argsort(fit.a[0] / (fit.a[0] + fit.b[0]))
    np.testing.assert_allclose(fit.weights[0, order], [0.3, 0.7], atol=0.01)
    np.testing.assert_allclose(fit.a[0, order], [2, 20], rtol=0.1)
    np.testing.assert_allclose(fit.b[0, order], [8, 3], rtol=0.1)


def test_em_is_exact_on_population_counts_and_never_lowers_the_likelihood():
    n, k = np.full(11, 10), np.arange(11)
    counts = 1e6 * (0.4 * betabinom.pmf(k, 10, 1.5, 4) + 0.6 * betabinom.pmf(k, 10, 9, 2))
    previous = -np.inf
    for steps in (5, 20, 60):
        fit = fit_beta_mixture(n, k, counts, 2, max_iter=steps, tol=0)
        assert fit.loglik[0] >= previous - 1e-6
        previous = fit.loglik[0]
    fit = fit_beta_mixture(n, k, counts, 2, max_iter=400, tol=1e-9)
    edges = np.linspace(0, 1, 11)
    masses = fit.cell_masses(edges)[0]
    truth = 0.4 * np.diff(beta.cdf(edges, 1.5, 4)) + 0.6 * np.diff(beta.cdf(edges, 9, 2))
    np.testing.assert_allclose(masses, truth, atol=0.01)


def _population(n: int, a: float, b: float) -> np.ndarray:
    """Expected (wrong, right) images per k of n when s ~ Beta(a, b) and P(correct | s) = s (closed form)."""
    k = np.arange(n + 1)
    total = betabinom.pmf(k, n, a, b)
    right = total * (a + k) / (a + b + n)  # E[s | k] under the Beta(a + k, b + n - k) posterior
    return np.stack([total - right, right], axis=1)[None]


@pytest.mark.parametrize("n", [6, 10, 20, 40, 80])
def test_naive_bias_is_order_1_over_n_and_the_jackknife_cancels_it(n):
    # P(correct | s) = s, original s ~ Beta(6, 2), replicated s ~ Beta(3, 2): A = 6/8, and
    # T(n) = (a2 + n mu1) / (kappa + n) with kappa = a2 + b2, so the naive bias is kappa (mu2 - mu1) / (kappa + n)
    # and the delete-d jackknife's is kappa^2 (mu2 - mu1) / ((kappa + n)(kappa + n - d)).
    a1, b1, a2, b2 = 6.0, 2.0, 3.0, 2.0
    mu1, mu2, kappa, d = a1 / (a1 + b1), a2 / (a2 + b2), a2 + b2, n // 2
    cells = Cells(np.full(n + 1, n), np.arange(n + 1), np.array([]), np.array([]))
    values = E.level_estimates(_population(n, a1, b1), _population(n, a2, b2), cells, n, d)
    assert values["naive"][0] - mu1 == pytest.approx(kappa * (mu2 - mu1) / (kappa + n), abs=1e-12)
    assert values["jackknife"][0] - mu1 == pytest.approx(kappa**2 * (mu2 - mu1) / ((kappa + n) * (kappa + n - d)),
                                                         abs=1e-12)
    assert values["accuracy_original"][0] == pytest.approx(mu1)
    # Thinning n annotators to m by the hypergeometric gives what m annotators would have given.
    thinned = E.level_accuracy(_population(n, a1, b1), _population(n, a2, b2), E.thinning_matrix(cells.n, cells.k, 3))
    assert thinned[0] == pytest.approx((a2 + 3 * mu1) / (kappa + 3), abs=1e-12)


@pytest.mark.parametrize(("a", "b"), [(2.0, 5.0), (0.6, 0.8)])  # the second density is infinite at both ends
def test_grid_integral_of_a_curve_under_a_beta_matches_closed_form_and_quad(a, b):
    edges, mid = grid()
    masses = np.diff(beta.cdf(edges, a, b))
    assert masses @ mid**2 == pytest.approx(a * (a + 1) / ((a + b) * (a + b + 1)), abs=2e-5)
    reference, _ = integrate.quad(lambda s: expit(-1 + 4 * s) * beta.pdf(s, a, b), 0, 1, limit=200)
    assert masses @ expit(-1 + 4 * mid) == pytest.approx(reference, abs=2e-5)


def test_ispline_basis_rises_from_0_to_1():
    s = np.linspace(0, 1, 401)
    basis = ispline_basis(s, 5)
    assert np.all(np.diff(basis[:, 1:], axis=0) >= -1e-12)
    assert basis[0, 1:].max() == 0 and basis[-1, 1:-1].min() == pytest.approx(1.0)


def test_monotone_fit_recovers_a_known_curve_from_population_counts():
    n, (edges, mid) = 10, grid()
    binom = binomial_matrix(np.full(n + 1, n), np.arange(n + 1), mid)
    masses = np.diff(beta.cdf(edges, 3, 1.5))
    truth = expit(-1 + 4 * mid)
    right = 20_000 * binom @ (masses * truth)
    wrong = 20_000 * binom @ (masses * (1 - truth))
    fit = fit_monotone(binom, masses[None], right[None], wrong[None])
    curve = fit.curve(mid)[0]
    assert np.all(np.diff(curve) >= 0)
    assert masses @ curve == pytest.approx(masses @ truth, abs=1e-3)
    inside = mid > 0.25  # where Beta(3, 1.5) puts its mass
    assert np.abs(curve - truth)[inside].max() < 0.03


def test_monotone_fit_gradient_matches_finite_differences():
    from tony.annotations.replication.spline import _derivatives

    n, (edges, mid) = 6, grid(64)
    binom = binomial_matrix(np.full(n + 1, n), np.arange(n + 1), mid)
    masses = np.diff(beta.cdf(edges, 2, 2))[None]
    rng = np.random.default_rng(3)
    right, wrong = rng.random((1, n + 1)) * 50, rng.random((1, n + 1)) * 50
    basis, params = ispline_basis(mid, 4), rng.normal(size=(1, 5)) * 0.5
    _, grad, hess = _derivatives(params, basis, binom, masses, right, wrong)
    step = 1e-6
    for i in range(5):
        shift = np.zeros_like(params)
        shift[0, i] = step
        up, down = (_derivatives(params + sign * shift, basis, binom, masses, right, wrong) for sign in (1, -1))
        assert (up[0] - down[0])[0] / (2 * step) == pytest.approx(grad[0, i], rel=1e-5, abs=1e-6)
        np.testing.assert_allclose((up[1] - down[1])[0] / (2 * step), hess[0, i], rtol=1e-4, atol=1e-5)
