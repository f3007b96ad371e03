"""Spectral signatures (Tran, Li, Madry 2018): per class, the penultimate features are centred and projected on
their top singular vector; poisons stand out with large squared projections. The examples with the largest
scores, 1.5 times the expected number of poisons of each class, are removed."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import torch

from tony.vision.evaluate import features
from tony.vision.poisoning.defenses.base import Defense, DefenseInput


def outlier_scores(feats: torch.Tensor) -> np.ndarray:
    """Squared projection of each centred feature row on the rows' top right singular vector."""
    centred = feats.double() - feats.double().mean(0, keepdim=True)
    if len(centred) < 2:
        return np.zeros(len(centred))
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    return ((centred @ vh[0]) ** 2).numpy()


def spectral_filter(feats: torch.Tensor, labels: torch.Tensor, budget: float, multiplier: float = 1.5) -> np.ndarray:
    """Removed examples (bool [N]): per class, the round(multiplier * budget * class size) largest scores."""
    removed = np.zeros(len(labels), dtype=bool)
    for label in labels.unique().tolist():
        members = np.flatnonzero((labels == label).numpy())
        k = min(len(members), round(multiplier * budget * len(members)))
        if k:
            removed[members[np.argsort(-outlier_scores(feats[members]), kind="stable")[:k]]] = True
    return removed


class SpectralSignatures(Defense):
    """Remove the top outliers along each class's top singular direction, then retrain."""

    name: ClassVar[str] = "spectral"
    kind: ClassVar[Literal["filter"]] = "filter"
    multiplier: float = 1.5
    """Removed per class, as a multiple of the expected poisons there (budget x class size)."""

    def select(self, given: DefenseInput) -> np.ndarray:
        return spectral_filter(features(given.model, given.images), given.labels, given.budget, self.multiplier)
