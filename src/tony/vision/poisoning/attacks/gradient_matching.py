"""Gradient matching, "Witches' Brew" (Geiping et al. 2021), for a victim trained from scratch (grey box: the
attacker trains its own copy of the architecture). The poisons, images of the attacker's class with true labels,
are perturbed within eps so that the training gradient they cause points where the gradient of the target
instance's adversarial loss points (cosine similarity over every weight); training on them then also lowers the
target's loss under the adversarial label."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from tony.vision.poisoning.attacks.base import Attack, AttackInput, Poisoned, within_eps
from tony.vision.poisoning.attacks.crafting import attacker_model, class_members, projected_descent
from tony.vision.poisoning.threat import Needs


class GradientMatching(Attack):
    """Poisons whose training gradient aligns with the target's adversarial gradient; clean labels."""

    name: ClassVar[str] = "gradient_matching"
    steps: int = 120
    """Optimisation steps (the paper: 250 on CIFAR-10)."""
    lr: float = 0.1
    """Each step's size, as a fraction of eps."""

    def needs(self) -> Needs:
        return Needs(knowledge="grey_box", labels=("dirty", "clean"), eps=True, goals=("targeted",),
                     regimes=("scratch",))

    def poison(self, given: AttackInput) -> Poisoned:
        chosen = class_members(given, given.target)
        model = attacker_model(given)
        weights = [p for p in model.parameters()]
        for weight in weights:
            weight.requires_grad_(True)  # gradients with respect to the weights are the object being matched
        targets = given.test_images[list(given.targets)].float() / 255
        adversarial = torch.full((len(targets),), given.target)
        wanted = torch.autograd.grad(torch.nn.functional.cross_entropy(model(targets), adversarial), weights)
        wanted_norm = torch.stack([(g ** 2).sum() for g in wanted]).sum().sqrt()
        labels = given.labels[chosen]
        assert given.threat.eps is not None  # the threat model was checked: eps is required

        def loss(images: torch.Tensor) -> torch.Tensor:  # 1 - cosine(poison gradient, target gradient)
            grads = torch.autograd.grad(torch.nn.functional.cross_entropy(model(images), labels), weights,
                                        create_graph=True)
            dot = torch.stack([(g * w).sum() for g, w in zip(grads, wanted, strict=True)]).sum()
            norm = torch.stack([(g ** 2).sum() for g in grads]).sum().sqrt()
            return 1 - dot / (norm * wanted_norm + 1e-12)

        base = given.images[chosen].float() / 255
        crafted = projected_descent(base, given.threat.eps, loss, steps=self.steps, lr=self.lr, seed=given.seed)
        images = given.images.clone()
        images[chosen] = within_eps(given.images[chosen], crafted, given.threat.eps)
        poisoned = np.zeros(len(images), dtype=bool)
        poisoned[chosen] = True
        return Poisoned(images, given.labels.clone(), poisoned)
