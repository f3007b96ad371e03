"""Blended (Chen et al. 2017): a fixed trigger image mixed into the input at ratio alpha, x' = (1 - alpha) x +
alpha t; dirty labels, like BadNets. The trigger here is seeded uniform noise (the paper used a photograph)."""

from __future__ import annotations

from typing import ClassVar

import torch
from pydantic import model_validator

from tony.core.errors import SpecError
from tony.vision.poisoning.attacks.badnets import stamp
from tony.vision.poisoning.attacks.base import Attack, AttackInput, Poisoned
from tony.vision.poisoning.threat import INVISIBLE_LIMIT, Needs
from tony.vision.train import generator


class Blended(Attack):
    """A noise image blended into the whole input."""

    name: ClassVar[str] = "blended"
    backdoor: ClassVar[bool] = True
    alpha: float = 0.2
    """The trigger's weight in the mix, in (0, 1]."""
    trigger_seed: int = 0
    """Seeds the noise image (fixed across runs, so every seed's victim sees the same trigger)."""

    @model_validator(mode="after")
    def _check(self) -> Blended:
        if not 0.0 < self.alpha <= 1.0:
            raise SpecError(f"blend ratio alpha must be in (0, 1], got {self.alpha}")
        return self

    def needs(self) -> Needs:
        return Needs(trigger="invisible" if self.alpha <= INVISIBLE_LIMIT else "visible")

    def pattern(self, shape: tuple[int, ...]) -> torch.Tensor:
        """The trigger image, floats in [0, 1] shaped (C, H, W)."""
        return torch.rand(shape, generator=generator(self.trigger_seed, 31))

    def apply_trigger(self, images: torch.Tensor) -> torch.Tensor:
        mixed = (1 - self.alpha) * images.float() + self.alpha * 255 * self.pattern(tuple(images.shape[1:]))
        return mixed.round().clamp(0, 255).to(torch.uint8)

    def poison(self, given: AttackInput) -> Poisoned:
        return stamp(self, given)
