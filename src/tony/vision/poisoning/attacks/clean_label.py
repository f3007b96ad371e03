"""The clean-label backdoor (Turner, Tsipras, Madry 2019): target-class training images are made hard to learn
from their content (an untargeted PGD perturbation within eps against the attacker's own model), then the trigger
is stamped on; their labels stay true, so only the trigger explains them and the victim learns it."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import torch

from tony.vision.poisoning.attacks.badnets import BadNets
from tony.vision.poisoning.attacks.base import Attack, AttackInput, Poisoned, within_eps
from tony.vision.poisoning.attacks.crafting import attacker_model, class_members, projected_descent
from tony.vision.poisoning.threat import Needs


class CleanLabel(Attack):
    """Adversarially perturbed target-class images plus a patch; labels untouched."""

    name: ClassVar[str] = "clean_label"
    backdoor: ClassVar[bool] = True
    size: int = 3
    """The patch trigger's side (as BadNets', bottom-right)."""
    pattern: Literal["checker", "white"] = "checker"
    steps: int = 10
    """PGD steps of the perturbation."""
    lr: float = 0.25
    """Each step's size, as a fraction of eps."""

    def needs(self) -> Needs:
        return Needs(knowledge="grey_box", labels=("dirty", "clean"), eps=True, mappings=("all-to-one",),
                     trigger="visible")

    def trigger_attack(self) -> BadNets:
        return BadNets(size=self.size, pattern=self.pattern)

    def apply_trigger(self, images: torch.Tensor) -> torch.Tensor:
        return self.trigger_attack().apply_trigger(images)

    def poison(self, given: AttackInput) -> Poisoned:
        chosen = class_members(given, given.target)
        model = attacker_model(given)
        base = given.images[chosen].float() / 255
        labels = given.labels[chosen]
        assert given.threat.eps is not None  # the threat model was checked: eps is required

        def loss(images: torch.Tensor) -> torch.Tensor:  # minimised: the true label's loss is maximised
            return -torch.nn.functional.cross_entropy(model(images), labels)

        hard = projected_descent(base, given.threat.eps, loss, steps=self.steps, lr=self.lr, seed=given.seed)
        images = given.images.clone()
        images[chosen] = self.apply_trigger(within_eps(given.images[chosen], hard, given.threat.eps))
        poisoned = np.zeros(len(images), dtype=bool)
        poisoned[chosen] = True
        return Poisoned(images, given.labels.clone(), poisoned)
