"""A seeded simulation of dataset replication, with the true answer known.

Original images and a larger pool of candidates per class draw true selection frequencies s from their
own mixtures of betas (the candidates are harder: lower s). Annotators each say yes with chance s. The
replicated set is matched to the original one on the frequencies observed in a first round of
annotation (`matching_annotators` per image); the estimators see a second, fresh round (`annotators`
per image), as in Engstrom et al., whose analysis collected new annotations: counts from the round that
did the selecting are no longer binomial given s on the selected images. Each model
is right on an image with chance sigmoid(intercept + slope * (s - 1/2)) on the original set and that
minus `shift` logits on the replicated one, so the true gap, integral of (P_original(correct | s) -
P_replicated(correct | s)) p_original(s) ds, is zero exactly when `shift` is 0, whatever matching does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field, model_validator
from scipy.special import betainc, expit

from tony.annotations.replication.data import ImageSet, ReplicationData
from tony.annotations.replication.matching import frequency_bin, match_histogram
from tony.core.errors import SpecError
from tony.core.spec import Spec

Component = tuple[float, float, float]
"""(weight, a, b) of one beta component."""
TRUTH_CELLS = 20_000
"""Grid cells of the numerical integrals behind the true values (error far below any sampling error)."""


class SimulationSpec(Spec):
    """Everything that decides a simulated replication study."""

    classes: int = Field(50, ge=1)
    per_class: int = Field(40, ge=1)
    """Original images per class."""
    pool_factor: float = Field(4.0, gt=1.0)
    """Candidates per class, as a multiple of per_class."""
    matching_annotators: int = Field(10, ge=1)
    """Annotators per image in the round the matching uses."""
    annotators: int = Field(10, ge=2)
    """Annotators per image in the fresh round the estimators see."""
    original: tuple[Component, ...] = ((1.0, 5.0, 1.2),)
    """The original images' frequency mixture (mean about 0.81)."""
    candidates: tuple[Component, ...] = ((0.5, 1.5, 1.5), (0.5, 4.0, 1.5))
    """The candidates' frequency mixture (mean about 0.61): harder images."""
    models: int = Field(10, ge=1)
    intercepts: tuple[float, float] = (-1.0, 2.0)
    """Logit of P(correct | s = 1/2) of the weakest and the strongest model (the rest evenly between)."""
    slope: float = Field(4.0, ge=0.0)
    """Logits per unit of s: how much easier a more recognisable image is."""
    shift: float = 0.0
    """Logits every model loses on replicated images beyond their frequencies (a true gap)."""
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> SimulationSpec:
        for name in ("original", "candidates"):
            mixture = getattr(self, name)
            if not mixture or any(w <= 0 or a <= 0 or b <= 0 for w, a, b in mixture):
                raise SpecError(f"{name}: give (weight, a, b) components with positive weights and shapes")
        return self

    def intercept_values(self) -> np.ndarray:
        return np.linspace(*self.intercepts, self.models) if self.models > 1 else np.array([np.mean(self.intercepts)])

    def model_names(self) -> list[str]:
        width = len(str(self.models))
        return [f"model-{i:0{width}d}" for i in range(1, self.models + 1)]


@dataclass(frozen=True)
class Simulation:
    """A simulated study: the data the estimators see, plus what only the simulator knows."""

    spec: SimulationSpec
    data: ReplicationData
    image_ids: tuple[list[str], list[str]]
    classes: tuple[np.ndarray, np.ndarray]
    true_s: tuple[np.ndarray, np.ndarray]
    missing: int
    """Images the matching could not find (0 when the pool is large enough)."""

    def truth(self) -> dict[str, dict[str, float]]:
        """Per model: population accuracy on the original set, the true A and the true gap."""
        return true_values(self.spec)


def simulate(spec: SimulationSpec) -> Simulation:
    rng = np.random.default_rng([spec.seed, 1])
    n_orig, n_cand = spec.classes * spec.per_class, int(round(spec.classes * spec.per_class * spec.pool_factor))
    orig_class = np.repeat(np.arange(spec.classes), spec.per_class)
    cand_class = rng.integers(0, spec.classes, size=n_cand)
    s_orig, s_cand = _draw(spec.original, n_orig, rng), _draw(spec.candidates, n_cand, rng)
    first = spec.matching_annotators
    chosen, missing = match_histogram(frequency_bin(rng.binomial(first, s_orig), first), orig_class,
                                      frequency_bin(rng.binomial(first, s_cand), first), cand_class, rng)
    s_rep = s_cand[chosen]
    n_ann = spec.annotators
    yes_orig, yes_rep = rng.binomial(n_ann, s_orig), rng.binomial(n_ann, s_rep)
    logits = spec.intercept_values()[None] + spec.slope * (s_orig[:, None] - 0.5)
    right_orig = rng.random(logits.shape) < expit(logits)
    logits = spec.intercept_values()[None] + spec.slope * (s_rep[:, None] - 0.5) - spec.shift
    right_rep = rng.random(logits.shape) < expit(logits)
    data = ReplicationData(ImageSet(yes_orig, np.full(n_orig, n_ann), right_orig),
                           ImageSet(yes_rep, np.full(len(chosen), n_ann), right_rep), tuple(spec.model_names()))
    ids = ([f"orig-{i:06d}" for i in range(n_orig)], [f"cand-{i:06d}" for i in chosen])
    return Simulation(spec, data, ids, (orig_class, cand_class[chosen]), (s_orig, s_rep), missing)


def _draw(mixture: tuple[Component, ...], size: int, rng: np.random.Generator) -> np.ndarray:
    weights = np.array([w for w, _, _ in mixture])
    component = rng.choice(len(mixture), size=size, p=weights / weights.sum())
    a, b = np.array([c[1] for c in mixture]), np.array([c[2] for c in mixture])
    return rng.beta(a[component], b[component])


def mixture_masses(mixture: tuple[Component, ...], edges: np.ndarray) -> np.ndarray:
    """Probability of each interval between `edges` under a beta mixture (from its CDF)."""
    total = sum(w for w, _, _ in mixture)
    return sum(w / total * np.diff(betainc(a, b, edges)) for w, a, b in mixture)


def true_values(spec: SimulationSpec) -> dict[str, dict[str, float]]:
    """The population values the estimators aim at, by numerical integration over the original mixture."""
    edges = np.linspace(0.0, 1.0, TRUTH_CELLS + 1)
    mid, masses = (edges[:-1] + edges[1:]) / 2, mixture_masses(spec.original, edges)
    out = {}
    for name, intercept in zip(spec.model_names(), spec.intercept_values(), strict=True):
        logit = intercept + spec.slope * (mid - 0.5)
        accuracy, corrected = float(masses @ expit(logit)), float(masses @ expit(logit - spec.shift))
        out[name] = {"accuracy_original": accuracy, "corrected": corrected, "gap": accuracy - corrected}
    return out
