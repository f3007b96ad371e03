"""What every attack is: a spec of its own options that declares what it needs of a threat model, and turns a clean
training set into a poisoned one (and, for a backdoor, applies its trigger to any images).

Images stay uint8 throughout (what training and evaluation read); a perturbation within eps is rounded toward the
original pixel, so the stored poison never leaves the eps ball.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from tony.core.spec import Spec
from tony.vision.models import NamedNet
from tony.vision.poisoning.threat import Needs, ThreatModel, check_fits


@dataclass(frozen=True)
class AttackInput:
    """What an attacker works from."""

    images: torch.Tensor
    """The clean training images, uint8 [N, C, H, W]."""
    labels: torch.Tensor
    """Their true labels [N]."""
    num_classes: int
    target: int
    """The target class's label (backdoor all-to-one, class-targeted flipping, targeted poisoning)."""
    threat: ThreatModel
    seed: int
    """Seeds every random choice of the attack."""
    test_images: torch.Tensor
    """The test images (a targeted attack crafts against its named targets among them)."""
    targets: tuple[int, ...] = ()
    """Targeted goal: the test instances to misclassify as `target`."""
    model: Callable[[], NamedNet] | None = None
    """The attacker's model, built on first call: its own trained copy (grey box) or the victim's pretrained
    feature extractor (white box); None for black-box attacks."""

    @property
    def count(self) -> int:
        """How many training examples the budget allows poisoning."""
        return self.threat.poison_count(len(self.images))


@dataclass(frozen=True)
class Poisoned:
    """A training set with poisons in place of some of its examples."""

    images: torch.Tensor
    """uint8 [N, C, H, W]: the clean images, poisons in place."""
    labels: torch.Tensor
    """[N] labels as the victim sees them."""
    poisoned: np.ndarray
    """[N] bool: which examples the attacker changed (ground truth for a filtering defense)."""


class Attack(Spec):
    """Base of the attacks: a subclass's fields are its options; `name` is its registry name."""

    name: ClassVar[str]
    backdoor: ClassVar[bool] = False
    """Whether it plants a test-time trigger (then `apply_trigger` is defined)."""

    def needs(self) -> Needs:
        """What it needs of a threat model (some depend on the options, e.g. a blend's visibility)."""
        raise NotImplementedError

    def check(self, threat: ThreatModel) -> None:
        """A one-line SpecError naming the field of `threat` that rules this attack out."""
        check_fits(self.name, self.needs(), threat)

    def poison(self, given: AttackInput) -> Poisoned:
        raise NotImplementedError

    def apply_trigger(self, images: torch.Tensor) -> torch.Tensor:
        """A copy of uint8 `images` with the trigger in (the same function at training and test time)."""
        raise NotImplementedError(f"attack {self.name} plants no trigger")


def rng_of(seed: int, stream: int) -> np.random.Generator:
    """A numpy generator for one purpose (`stream`) of an attack seeded by `seed`."""
    return np.random.default_rng([seed, stream])


def backdoor_labels(labels: torch.Tensor, target: int, mapping: str, num_classes: int) -> torch.Tensor:
    """The label a triggered input should get: `target` (all-to-one) or y + 1 mod classes (all-to-all)."""
    if mapping == "all-to-all":
        return (labels + 1) % num_classes
    return torch.full_like(labels, target)


def pick_sources(labels: torch.Tensor, count: int, eligible: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`count` distinct indices among the `eligible` ones, drawn by `rng` (sorted)."""
    from tony.core.errors import SpecError

    pool = np.flatnonzero(eligible)
    if count > len(pool):
        raise SpecError(f"the budget asks for {count} poisons but only {len(pool)} training examples can carry "
                        "one: lower the fraction")
    return np.sort(rng.choice(pool, size=count, replace=False))


def within_eps(original: torch.Tensor, perturbed: torch.Tensor, eps: float) -> torch.Tensor:
    """uint8 images as close to float `perturbed` (in [0, 1]) as the L-inf ball of radius `eps` around uint8
    `original` allows, each pixel's change rounded toward the original so the ball is never left."""
    base = original.float()
    delta = (perturbed.clamp(0, 1) * 255 - base).clamp(-eps * 255, eps * 255).trunc()
    return (base + delta).clamp(0, 255).to(torch.uint8)
