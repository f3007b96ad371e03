"""Activation clustering (Chen et al. 2018): per class, the penultimate features are reduced to a few dimensions
and split by 2-means; a cluster holding at most `size_threshold` of its class is called poison and removed. The
reduction is PCA here (the paper uses ICA; PCA is deterministic and needs no convergence)."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import torch

from tony.vision.evaluate import features
from tony.vision.poisoning.defenses.base import Defense, DefenseInput


def reduce(feats: torch.Tensor, dims: int) -> np.ndarray:
    """The rows projected on their top `dims` principal directions."""
    centred = feats.double() - feats.double().mean(0, keepdim=True)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    return (centred @ vh[:dims].T).numpy()


def cluster_filter(feats: torch.Tensor, labels: torch.Tensor, *, dims: int = 10, size_threshold: float = 0.35,
                   seed: int = 0) -> np.ndarray:
    """Removed examples (bool [N]): per class, the smaller 2-means cluster when it holds <= `size_threshold`."""
    from sklearn.cluster import KMeans

    removed = np.zeros(len(labels), dtype=bool)
    for label in labels.unique().tolist():
        members = np.flatnonzero((labels == label).numpy())
        if len(members) < 2:
            continue
        assignment = KMeans(2, n_init=10, random_state=seed).fit_predict(reduce(feats[members], dims))
        smaller = int(np.bincount(assignment, minlength=2).argmin())
        if (assignment == smaller).mean() <= size_threshold:
            removed[members[assignment == smaller]] = True
    return removed


class ActivationClustering(Defense):
    """2-means on reduced penultimate features of each class; remove the small cluster, then retrain."""

    name: ClassVar[str] = "activation_clustering"
    kind: ClassVar[Literal["filter"]] = "filter"
    dims: int = 10
    """Principal components kept before clustering."""
    size_threshold: float = 0.35
    """A cluster with at most this share of its class is called poison."""

    def select(self, given: DefenseInput) -> np.ndarray:
        return cluster_filter(features(given.model, given.images), given.labels, dims=self.dims,
                              size_threshold=self.size_threshold, seed=given.seed)
