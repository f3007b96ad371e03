"""Label flipping: the images stay, some labels change. `random`: each chosen example gets a uniformly drawn other
class; `class`: examples of `source_class` are relabelled to the target class (class-targeted)."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import torch

from tony.core.errors import SpecError
from tony.vision.poisoning.attacks.base import Attack, AttackInput, Poisoned, pick_sources, rng_of
from tony.vision.poisoning.threat import Needs

SELECT_STREAM, LABEL_STREAM = 1, 2


class LabelFlip(Attack):
    """Relabel a budget of training examples."""

    name: ClassVar[str] = "label_flip"
    mode: Literal["random", "class"] = "random"
    """random: any examples to random other classes; class: `source_class` examples to the target class."""
    source_class: int | None = None
    """class mode: the label whose examples are flipped; None: the class after the target (mod classes)."""

    def needs(self) -> Needs:
        return Needs(goals=("indiscriminate",))

    def poison(self, given: AttackInput) -> Poisoned:
        labels = given.labels.clone()
        if self.mode == "random":
            chosen = pick_sources(labels, given.count, np.ones(len(labels), dtype=bool), rng_of(given.seed,
                                                                                               SELECT_STREAM))
            # A shift of 1 .. K-1 classes: never the true label, uniform over the others.
            shift = rng_of(given.seed, LABEL_STREAM).integers(1, given.num_classes, size=len(chosen))
            labels[chosen] = (labels[chosen] + torch.from_numpy(shift)) % given.num_classes
        else:
            source = (given.target + 1) % given.num_classes if self.source_class is None else self.source_class
            if not 0 <= source < given.num_classes or source == given.target:
                raise SpecError(f"source class {source} must be a label other than the target ({given.target}) "
                                f"between 0 and {given.num_classes - 1}")
            chosen = pick_sources(labels, given.count, (labels == source).numpy(), rng_of(given.seed, SELECT_STREAM))
            labels[chosen] = given.target
        poisoned = np.zeros(len(labels), dtype=bool)
        poisoned[chosen] = True
        return Poisoned(given.images.clone(), labels, poisoned)
