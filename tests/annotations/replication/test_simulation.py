"""The simulated replication study: matching, the truth, and what each estimator reports."""

from __future__ import annotations

import numpy as np
import pytest

from tony.annotations.replication import estimators as E
from tony.annotations.replication.matching import frequency_bin, match_histogram
from tony.annotations.replication.simulate import SimulationSpec, mixture_masses, simulate, true_values


def test_frequency_bins_are_five_of_width_0_2():
    assert frequency_bin(np.array([0, 1, 2, 3, 5, 7, 8, 10]), np.full(8, 10)).tolist() == [0, 0, 1, 1, 2, 3, 4, 4]


def test_matching_copies_each_class_histogram():
    rng = np.random.default_rng(0)
    orig_bins, orig_classes = rng.integers(0, 5, 300), rng.integers(0, 3, 300)
    cand_bins, cand_classes = rng.integers(0, 5, 3000), rng.integers(0, 3, 3000)
    chosen, missing = match_histogram(orig_bins, orig_classes, cand_bins, cand_classes, rng)
    assert missing == 0 and len(set(chosen.tolist())) == 300
    for cls in range(3):
        want = np.bincount(orig_bins[orig_classes == cls], minlength=5)
        got = np.bincount(cand_bins[chosen][cand_classes[chosen] == cls], minlength=5)
        assert got.tolist() == want.tolist()


def test_true_values_match_a_monte_carlo_estimate():
    spec = SimulationSpec(models=2, shift=0.7)
    truth = true_values(spec)
    rng = np.random.default_rng(1)
    s = rng.beta(5.0, 1.2, 400_000)
    for name, intercept in zip(spec.model_names(), spec.intercept_values(), strict=True):
        logit = intercept + spec.slope * (s - 0.5)
        assert truth[name]["accuracy_original"] == pytest.approx((1 / (1 + np.exp(-logit))).mean(), abs=3e-3)
        assert truth[name]["corrected"] == pytest.approx((1 / (1 + np.exp(-(logit - 0.7)))).mean(), abs=3e-3)
    assert all(v["gap"] == 0 for v in true_values(SimulationSpec(models=3)).values())
    assert mixture_masses(spec.candidates, np.linspace(0, 1, 5)).sum() == pytest.approx(1.0)


def test_matched_images_are_harder_than_the_originals():
    sim = simulate(SimulationSpec(classes=20, per_class=100, models=1))
    assert sim.missing == 0 and sim.data.replicated.size == sim.data.original.size
    assert sim.true_s[0].mean() - sim.true_s[1].mean() > 0.03


def _estimates(spec: SimulationSpec) -> tuple[dict, list[dict]]:
    sim = simulate(spec)
    cells = sim.data.cells()
    m = spec.annotators
    levels = [E.bootstrap_levels(sim.data, cells, i, m, m // 2, resamples=100, seed=0)
              for i in range(len(sim.data.models))]
    fits = E.fit_frequencies(sim.data, cells, components=3, resamples=60, seed=0)
    shared = E.parametric(sim.data, cells, fits, list(range(len(sim.data.models))))
    for i, row in enumerate(levels):
        row["gap_parametric"] = E.interval(shared["gap_parametric"][0, i], shared["gap_parametric"][1:, i])
    return sim.truth(), levels


def _inside(estimate: E.Estimate, value: float) -> bool:
    return estimate.low <= value <= estimate.high


@pytest.mark.parametrize("shift", [0.0, 0.5])
def test_corrections_recover_the_true_gap_where_matching_does_not(shift):
    # With shift 0 P(correct | s) is the same on both sets, so the true gap is zero; with shift 0.5 it is
    # known by numerical integration. The raw gap after matching overshoots it clearly, the jackknife and
    # the parametric estimate cover it.
    spec = SimulationSpec(classes=50, per_class=100, models=3, annotators=20, shift=shift, seed=0)
    truth, estimates = _estimates(spec)
    for (name, true), found in zip(truth.items(), estimates, strict=True):
        assert found["gap_raw"].low > true["gap"], name
        assert _inside(found["gap_jackknife"], true["gap"]), name
        assert _inside(found["gap_parametric"], true["gap"]), name
    raw_excess = np.mean([f["gap_raw"].value - t["gap"] for t, f in zip(truth.values(), estimates, strict=True)])
    for method in ("naive", "jackknife", "parametric"):
        excess = np.mean([f[f"gap_{method}"].value - t["gap"] for t, f in zip(truth.values(), estimates, strict=True)])
        assert abs(excess) < raw_excess / 2, method
