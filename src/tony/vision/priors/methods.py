"""The methods of the study: a single prior, an ensemble, self-training, co-training and its combined final step.

Each method maps a `Context` (one seed's images, the study's settings and the store) to trajectories: per named
model, its outputs after every round (one entry for a model trained once). Every model is trained through
`training.train_prior`, keyed by a spec whose `data` says what it was trained on, so a model shared by two
methods (the single-prior models are round 0 of self- and co-training) is trained once, and a killed study
resumes from the models and checkpoints it already has.

- ``single``: each prior trained on the labeled set.
- ``ensemble``: the single models' logits averaged.
- ``self_train``: rounds 1..R; in round r each prior is trained afresh on the labeled set plus the pseudo-labels
  that its own round r-1 model gives the most confident class-balanced fraction ``f * r / R`` of the unlabeled set.
- ``co_train``: the same, but each prior's pseudo-labels come from the others (with two priors: its partner; with
  more, the others' averaged probabilities): a shape model labels for the texture model and the reverse.
  ``ensemble`` of each round: the co-trained models' logits averaged.
- ``co_train_combined``: after co-training, a model of the combined prior (standard by default) trained on the
  labeled set plus the final co-trained ensemble's pseudo-labels on the fraction f.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from tony.core.store import Store
from tony.vision.data.dataset import ImageDataset
from tony.vision.evaluate import predict
from tony.vision.priors.selection import PseudoLabels, growing_fraction, select_pseudo_labels
from tony.vision.priors.settings import SettingData
from tony.vision.priors.training import prior_spec, train_prior

if TYPE_CHECKING:
    from tony.vision.priors.study import PriorsStudySpec

ENSEMBLE = "ensemble"
COMBINED = "combined"


@dataclass(frozen=True)
class Outputs:
    """One trained model's (or ensemble's) logits, and how good the pseudo-labels it was trained on were."""

    test: np.ndarray
    """[test images, K] logits."""
    unlabeled: np.ndarray
    """[unlabeled images, K] logits."""
    conflict: np.ndarray | None
    """[cue-conflict images, K] logits (world only)."""
    pseudo: tuple[int, int] | None = None
    """(pseudo-labels trained on, how many of them are right); None for a model trained on labels only."""


Trajectories = dict[str, list[Outputs]]
"""Per model: its outputs after each round (index = round)."""


@dataclass
class Context:
    """What a method needs for one seed."""

    spec: PriorsStudySpec
    data: SettingData
    conflict: ImageDataset | None
    store: Store
    seed: int

    def train(self, prior: str, pseudo: PseudoLabels | None, tag: dict[str, Any]) -> Outputs:
        """Train (or load) `prior` on the labeled set plus `pseudo`-labeled unlabeled images; its outputs."""
        labeled, unlabeled = self.data.labeled, self.data.unlabeled
        images, labels = labeled.images, labeled.labels
        if pseudo is not None and len(pseudo.index):
            chosen = torch.from_numpy(pseudo.index)
            images = torch.cat([images, unlabeled.images[chosen]])
            labels = torch.cat([labels, torch.from_numpy(pseudo.labels).long()])
        setting = self.spec.setting
        data = {"setting": setting.key_fields(), "seed": self.seed, **tag}
        spec = prior_spec(self.spec.train, prior, num_classes=setting.num_classes, shape=setting.shape,
                          images=len(images), seed=self.seed, data=data)
        model = train_prior(spec, images, labels, self.store)
        score = None
        if pseudo is not None:
            truth = unlabeled.labels.numpy()[pseudo.index]
            score = (len(pseudo.index), int((truth == pseudo.labels).sum()))
        return Outputs(predict(model, self.data.test.images).numpy(), predict(model, unlabeled.images).numpy(),
                       None if self.conflict is None else predict(model, self.conflict.images).numpy(), score)


def average(outputs: list[Outputs]) -> Outputs:
    """The ensemble of `outputs`: logits averaged (no pseudo-label score of its own)."""
    conflicts = [o.conflict for o in outputs if o.conflict is not None]
    return Outputs(np.mean([o.test for o in outputs], 0), np.mean([o.unlabeled for o in outputs], 0),
                   np.mean(conflicts, 0) if len(conflicts) == len(outputs) else None)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(1, keepdims=True))
    return shifted / shifted.sum(1, keepdims=True)


def single(ctx: Context) -> Trajectories:
    return {prior: [ctx.train(prior, None, {"round": 0})] for prior in ctx.spec.priors}


def ensemble(ctx: Context) -> Trajectories:
    return {ENSEMBLE: [average([t[0] for t in single(ctx).values()])]}


def _rounds(ctx: Context, method: str) -> Trajectories:
    spec = ctx.spec
    trajectories = single(ctx)
    tag = {"method": method, "priors": list(spec.priors), "rounds": spec.rounds, "final_fraction": spec.final_fraction,
           "min_confidence": spec.min_confidence}
    for round_ in range(1, spec.rounds + 1):
        fraction = growing_fraction(round_, spec.rounds, spec.final_fraction)
        latest = {prior: softmax(t[-1].unlabeled) for prior, t in trajectories.items()}
        for prior in spec.priors:
            teachers = [p for p in spec.priors if p != prior] if method == "co_train" else [prior]
            probabilities = np.mean([latest[p] for p in teachers], 0)
            pseudo = select_pseudo_labels(probabilities, fraction, min_confidence=spec.min_confidence)
            trajectories[prior].append(ctx.train(prior, pseudo, {**tag, "round": round_}))
    if len(spec.priors) > 1:
        trajectories[ENSEMBLE] = [average([trajectories[p][r] for p in spec.priors]) for r in range(spec.rounds + 1)]
    return trajectories


def self_train(ctx: Context) -> Trajectories:
    return _rounds(ctx, "self_train")


def co_train(ctx: Context) -> Trajectories:
    return _rounds(ctx, "co_train")


def co_train_combined(ctx: Context) -> Trajectories:
    spec = ctx.spec
    final = co_train(ctx)[ENSEMBLE][-1]
    pseudo = select_pseudo_labels(softmax(final.unlabeled), spec.final_fraction, min_confidence=spec.min_confidence)
    tag = {"method": "co_train_combined", "priors": list(spec.priors), "rounds": spec.rounds,
           "final_fraction": spec.final_fraction, "min_confidence": spec.min_confidence}
    return {COMBINED: [ctx.train(spec.combined_prior, pseudo, tag)]}


METHODS: dict[str, Callable[[Context], Trajectories]] = {
    "single": single, "ensemble": ensemble, "self_train": self_train, "co_train": co_train,
    "co_train_combined": co_train_combined}
"""Every method by name."""
