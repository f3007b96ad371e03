"""STRIP (Gao et al. 2019), at inference: an input is superimposed on `overlays` clean images and the mean
entropy of the model's predictions measured. A trigger that fixes the prediction keeps that entropy low; inputs
below the threshold that rejects `frr` of the defender's clean images are rejected."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import torch

from tony.vision.poisoning.defenses.base import Defense, DefenseInput, Reject, logits
from tony.vision.train import generator

OVERLAY_STREAM = 51


def superimposed_entropy(model: torch.nn.Module, images: torch.Tensor, overlays: torch.Tensor) -> np.ndarray:
    """Per image, the mean entropy (nats) of the model's prediction on the image averaged with each overlay."""
    entropies = []
    for overlay in overlays:
        mixed = (images.float() + overlay.float()) / 2  # still 0-255, as_float in `logits` scales it
        probabilities = torch.softmax(logits(model, mixed / 255), 1)
        entropies.append(-(probabilities * probabilities.clamp_min(1e-12).log()).sum(1))
    return torch.stack(entropies).mean(0).numpy()


class Strip(Defense):
    """Reject inputs whose predictions stay certain under superimposition."""

    name: ClassVar[str] = "strip"
    kind: ClassVar[Literal["detector"]] = "detector"
    backdoor_only: ClassVar[bool] = True
    overlays: int = 20
    """Clean images each input is superimposed on."""
    frr: float = 0.05
    """The false rejection rate the threshold is set to on the defender's clean set."""

    def detector(self, given: DefenseInput) -> Reject:
        clean = given.clean_images
        picked = torch.randperm(len(clean), generator=generator(given.seed, OVERLAY_STREAM))[:self.overlays]
        overlays = clean[picked]
        threshold = float(np.quantile(superimposed_entropy(given.model, clean, overlays), self.frr))

        def reject(images: torch.Tensor) -> np.ndarray:
            return superimposed_entropy(given.model, images, overlays) < threshold
        return reject
