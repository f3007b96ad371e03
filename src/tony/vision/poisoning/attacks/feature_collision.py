"""Feature collision, "Poison Frogs" (Shafahi et al. 2018), for a victim that fine-tunes a pretrained network
(white box: the attacker has its feature extractor). Each poison starts from a base image of the attacker's class
and moves, within eps, until its penultimate features collide with the target instance's; labelled truly as the
base class, it drags the decision boundary over the target."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from tony.vision.poisoning.attacks.base import Attack, AttackInput, Poisoned, within_eps
from tony.vision.poisoning.attacks.crafting import attacker_model, class_members, projected_descent
from tony.vision.poisoning.threat import Needs


class FeatureCollision(Attack):
    """Poisons near a base image in input space and near the target in feature space; clean labels."""

    name: ClassVar[str] = "feature_collision"
    steps: int = 200
    """Optimisation steps per batch of poisons."""
    lr: float = 0.05
    """Each step's size, as a fraction of eps."""

    def needs(self) -> Needs:
        return Needs(knowledge="white_box", labels=("dirty", "clean"), eps=True, goals=("targeted",),
                     regimes=("last_layer", "fine_tune"))

    def poison(self, given: AttackInput) -> Poisoned:
        chosen = class_members(given, given.target)
        model = attacker_model(given)
        targets = given.test_images[list(given.targets)].float() / 255
        with torch.no_grad():
            wanted = model.features(targets)[torch.arange(len(chosen)) % len(targets)]  # poisons share the targets
        assert given.threat.eps is not None  # the threat model was checked: eps is required

        def loss(images: torch.Tensor) -> torch.Tensor:
            return ((model.features(images) - wanted) ** 2).sum(1).mean()

        base = given.images[chosen].float() / 255
        crafted = projected_descent(base, given.threat.eps, loss, steps=self.steps, lr=self.lr, seed=given.seed,
                                    random_start=False)
        images = given.images.clone()
        images[chosen] = within_eps(given.images[chosen], crafted, given.threat.eps)
        poisoned = np.zeros(len(images), dtype=bool)
        poisoned[chosen] = True
        return Poisoned(images, given.labels.clone(), poisoned)
