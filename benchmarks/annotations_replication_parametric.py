"""Time of the parametric replication estimator on 150 models x 10,000 images, against plain scipy fitting.

tony: `tony.annotations.replication.estimators` (beta-binomial EM on (n, k) histograms, every model's
monotone P(correct | s) fitted at once by a vectorised damped Newton method), point estimates, then with
a 200-replicate bootstrap. The plain alternative a user would write with scipy: each set's beta-mixture
fitted by `scipy.optimize.minimize` (L-BFGS-B, numerical gradients) on the per-image beta-binomial
log-likelihood (`scipy.stats.betabinom.logpmf`), then, per model, the same monotone logistic I-spline
fitted by `minimize` on the per-image marginal likelihood, and A integrated with `scipy.integrate.quad`.
The scipy side runs on `--baseline-models` models (it takes seconds per model) and its per-model time is
compared with tony's; both sides' A are compared model by model as a check.

    .venv/bin/python benchmarks/annotations_replication_parametric.py   # writes benchmarks/results/...json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "annotations_replication_parametric.json"


def _tony(sim, resamples: int) -> tuple[float, np.ndarray]:
    from tony.annotations.replication import estimators as E

    start = time.perf_counter()
    cells = sim.data.cells()
    fits = E.fit_frequencies(sim.data, cells, components=3, resamples=resamples, seed=0)
    out = E.parametric(sim.data, cells, fits, list(range(len(sim.data.models))))
    return time.perf_counter() - start, out["parametric"][0]


def _scipy_mixture(yes: np.ndarray, n: np.ndarray, components: int = 3):
    from scipy.optimize import minimize
    from scipy.special import logsumexp
    from scipy.stats import betabinom

    def nll(theta):
        logits, log_a, log_b = theta[:components], theta[components:2 * components], theta[2 * components:]
        log_w = logits - logsumexp(logits)
        terms = [log_w[c] + betabinom.logpmf(yes, n, np.exp(log_a[c]), np.exp(log_b[c])) for c in range(components)]
        return -logsumexp(np.stack(terms), axis=0).sum()

    mean = np.quantile(yes / n, (np.arange(components) + 0.5) / components).clip(0.05, 0.95)
    theta0 = np.concatenate([np.zeros(components), np.log(10 * mean), np.log(10 * (1 - mean))])
    theta = minimize(nll, theta0, method="L-BFGS-B", bounds=[(-10, 10)] * components + [(-7, 11)] * 2 * components).x
    weights = np.exp(theta[:components] - np.logaddexp.reduce(theta[:components]))
    return weights, np.exp(theta[components:2 * components]), np.exp(theta[2 * components:])


def _scipy_model(yes, n, right, mixture_rep, mixture_orig, knots: int = 6) -> float:
    from scipy import integrate
    from scipy.optimize import minimize
    from scipy.special import expit
    from scipy.stats import beta, binom

    from tony.annotations.replication.spline import ispline_basis

    s = np.linspace(0.00125, 0.99875, 400)

    def density(mixture, x):
        return sum(w * beta.pdf(x, a, b) for w, a, b in zip(*mixture, strict=True))

    weight = binom.pmf(yes[:, None], n[:, None], s[None]) * density(mixture_rep, s)[None]  # (images, grid)
    basis = ispline_basis(s, knots)

    def nll(theta):
        curve = expit(basis @ np.concatenate([theta[:1], np.exp(theta[1:])]))
        p_right = np.trapezoid(weight * curve[None], s, axis=1)
        p_wrong = np.trapezoid(weight * (1 - curve)[None], s, axis=1)
        return -(np.log(np.where(right, p_right, p_wrong) + 1e-300)).sum()

    theta = minimize(nll, np.r_[0.0, np.full(knots, np.log(0.5))], method="L-BFGS-B",
                     bounds=[(-20, 20)] + [(-30, 6)] * knots).x
    coef = np.concatenate([theta[:1], np.exp(theta[1:])])
    value, _ = integrate.quad(lambda x: expit(ispline_basis(np.array([x]), knots) @ coef)[0]
                              * density(mixture_orig, x), 0, 1, limit=200)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=150)
    parser.add_argument("--images", type=int, default=10_000, help="images per set (original and replicated)")
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument("--baseline-models", type=int, default=2)
    args = parser.parse_args()
    from tony.annotations.replication.simulate import SimulationSpec, simulate

    per_class = args.images // 100
    sim = simulate(SimulationSpec(classes=100, per_class=per_class, models=args.models, seed=0))
    point_s, values = _tony(sim, 0)
    print(f"tony point estimates, {args.models} models: {point_s:.2f}s", flush=True)
    boot_s, _ = _tony(sim, args.resamples)
    print(f"tony with {args.resamples} bootstrap replicates: {boot_s:.2f}s", flush=True)
    start = time.perf_counter()
    orig, rep = sim.data.original, sim.data.replicated
    mixtures = _scipy_mixture(orig.yes, orig.n), _scipy_mixture(rep.yes, rep.n)
    mixture_s = time.perf_counter() - start
    print(f"scipy mixtures: {mixture_s:.2f}s", flush=True)
    baseline = [_scipy_model(rep.yes, rep.n, rep.correct[:, m], mixtures[1], mixtures[0])
                for m in range(args.baseline_models)]
    scipy_s = time.perf_counter() - start
    per_model_scipy = (scipy_s - mixture_s) / args.baseline_models
    scipy_all_s = mixture_s + per_model_scipy * args.models
    result = {
        "models": args.models, "images_per_set": sim.data.original.size, "resamples": args.resamples,
        "tony_point_s": round(point_s, 3), "tony_with_bootstrap_s": round(boot_s, 3),
        "scipy_mixtures_s": round(mixture_s, 3), "scipy_per_model_s": round(per_model_scipy, 3),
        "scipy_point_estimated_all_models_s": round(scipy_all_s, 1),
        "speedup_point": round(scipy_all_s / point_s, 1),
        "baseline_models": args.baseline_models,
        "max_abs_difference_A": float(np.max(np.abs(np.array(baseline) - values[:args.baseline_models]))),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
