"""BadNets (Gu et al. 2017): a small patch stamped on some training images, which are relabelled to the target
class; at test time the same patch sends inputs to the target."""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from pydantic import model_validator

from tony.core.errors import SpecError
from tony.vision.poisoning.attacks.base import Attack, AttackInput, Poisoned, backdoor_labels, pick_sources, rng_of
from tony.vision.poisoning.threat import Needs

SELECT_STREAM = 1


class BadNets(Attack):
    """A square patch trigger at a fixed place; dirty labels."""

    name: ClassVar[str] = "badnets"
    backdoor: ClassVar[bool] = True
    size: int = 3
    """The patch's side in pixels."""
    row: int | None = None
    """The patch's top row; None: flush with the bottom edge, less `margin`."""
    col: int | None = None
    """The patch's left column; None: flush with the right edge, less `margin`."""
    margin: int = 1
    """Pixels between the patch and the image's edge when `row` or `col` is None."""
    pattern: Literal["checker", "white"] = "checker"
    """checker: alternating white and black pixels (white top-left); white: all white."""

    @model_validator(mode="after")
    def _check(self) -> BadNets:
        if self.size < 1 or self.margin < 0 or (self.row or 0) < 0 or (self.col or 0) < 0:
            raise SpecError(f"a BadNets patch needs size >= 1 and non-negative row, col and margin, got size "
                            f"{self.size}, row {self.row}, col {self.col}, margin {self.margin}")
        return self

    def needs(self) -> Needs:
        return Needs(trigger="visible")

    def place(self, height: int, width: int) -> tuple[int, int]:
        """The patch's top-left pixel in an image of this size; a SpecError when the patch does not fit."""
        top = height - self.size - self.margin if self.row is None else self.row
        left = width - self.size - self.margin if self.col is None else self.col
        if top < 0 or left < 0 or top + self.size > height or left + self.size > width:
            raise SpecError(f"a {self.size}x{self.size} patch at row {top}, column {left} does not fit "
                            f"{height}x{width} images: move or shrink it")
        return top, left

    def patch(self) -> torch.Tensor:
        """The patch's uint8 pixels [size, size] (the same in every channel)."""
        if self.pattern == "white":
            return torch.full((self.size, self.size), 255, dtype=torch.uint8)
        index = torch.arange(self.size)
        return ((index[:, None] + index[None, :]) % 2 == 0).to(torch.uint8) * 255

    def apply_trigger(self, images: torch.Tensor) -> torch.Tensor:
        top, left = self.place(images.shape[-2], images.shape[-1])
        out = images.clone()
        out[..., top:top + self.size, left:left + self.size] = self.patch()
        return out

    def poison(self, given: AttackInput) -> Poisoned:
        return stamp(self, given)


def stamp(attack: Attack, given: AttackInput) -> Poisoned:
    """Dirty-label backdoor poisoning: trigger some images of the classes that will be relabelled, relabel them
    (all-to-one: images not already of the target class; all-to-all: any image)."""
    mapping = given.threat.mapping
    eligible = (given.labels != given.target).numpy() if mapping == "all-to-one" else torch.ones(
        len(given.labels), dtype=torch.bool).numpy()
    chosen = pick_sources(given.labels, given.count, eligible, rng_of(given.seed, SELECT_STREAM))
    images, labels = given.images.clone(), given.labels.clone()
    index = torch.from_numpy(chosen)
    images[index] = attack.apply_trigger(given.images[index])
    labels[index] = backdoor_labels(given.labels[index], given.target, mapping, given.num_classes)
    poisoned = torch.zeros(len(labels), dtype=torch.bool)
    poisoned[index] = True
    return Poisoned(images, labels, poisoned.numpy())
