"""What every defense is: a spec of its options of one of three kinds.

- a filter (`select`) removes suspected poisons from the training set; the study retrains the victim on the rest;
- a repair (`repair`) turns the trained victim into a new model using a small clean set the defender holds;
- a detector (`detector`) rejects suspicious inputs at inference time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import torch

from tony.core.spec import Spec
from tony.vision.models import NamedNet

Reject = Callable[[torch.Tensor], np.ndarray]
"""A detector: uint8 images -> bool [N], True where the input is rejected."""


@dataclass(frozen=True)
class DefenseInput:
    """What a defender works from."""

    model: NamedNet
    """The trained victim."""
    images: torch.Tensor
    """The (poisoned) training set it was trained on, uint8."""
    labels: torch.Tensor
    clean_images: torch.Tensor
    """The defender's own small clean set, uint8 (never poisoned, never in the victim's training set)."""
    clean_labels: torch.Tensor
    budget: float
    """The threat model's poison budget as a fraction of the training set (what a filter expects to find)."""
    seed: int


class Defense(Spec):
    """Base of the defenses: a subclass's fields are its options; `name` is its registry name."""

    name: ClassVar[str]
    kind: ClassVar[Literal["filter", "repair", "detector"]]
    backdoor_only: ClassVar[bool] = False
    """Whether it needs a test-time trigger to be measured (STRIP's false acceptance)."""

    def select(self, given: DefenseInput) -> np.ndarray:
        """A filter's removed training examples, bool [N]."""
        raise NotImplementedError

    def repair(self, given: DefenseInput) -> NamedNet:
        """A repair's new model."""
        raise NotImplementedError

    def detector(self, given: DefenseInput) -> Reject:
        """A detector's rejection function."""
        raise NotImplementedError


def logits(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """`model`'s logits for uint8 or [0, 1] float images, in eval mode without gradients."""
    from tony.vision.train import as_float

    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = torch.cat([model(as_float(images[i:i + batch_size])) for i in range(0, len(images), batch_size)])
    model.train(was_training)
    return out
