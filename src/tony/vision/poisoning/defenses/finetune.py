"""Plain fine-tuning of the whole victim on the defender's clean set: the baseline every repair is compared with.
`fine_tune` is also how a fine_tune-regime victim learns the poisoned set from its pretrained weights."""

from __future__ import annotations

import copy
from typing import ClassVar, Literal

import torch

from tony.vision.models import NamedNet
from tony.vision.poisoning.defenses.base import Defense, DefenseInput
from tony.vision.train import as_float, generator

FINE_TUNE_STREAM = 41


def fine_tune(model: NamedNet, images: torch.Tensor, labels: torch.Tensor, *, epochs: int, lr: float,
              batch_size: int = 64, seed: int = 0) -> NamedNet:
    """A copy of `model` trained further, every weight, with SGD (momentum 0.9, constant lr) on uint8 `images`."""
    tuned = copy.deepcopy(model)
    optimizer = torch.optim.SGD(tuned.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    tuned.train()
    for epoch in range(epochs):
        order = torch.randperm(len(images), generator=generator(seed, FINE_TUNE_STREAM, epoch))
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            loss = torch.nn.functional.cross_entropy(tuned(as_float(images[batch])), labels[batch].long())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return tuned.eval()


class FineTune(Defense):
    """Fine-tune the whole victim on the defender's clean set."""

    name: ClassVar[str] = "finetune"
    kind: ClassVar[Literal["repair"]] = "repair"
    epochs: int = 10
    lr: float = 0.01

    def repair(self, given: DefenseInput) -> NamedNet:
        return fine_tune(given.model, given.clean_images, given.clean_labels, epochs=self.epochs, lr=self.lr,
                         seed=given.seed)
