"""Fine-pruning (Liu, Dolan-Gavitt, Garg 2018): the channels of the last convolutional stage that the clean set
leaves dormant (smallest mean activation) are pruned, as many as keep the clean set's accuracy within
`max_accuracy_drop` of the victim's, then the pruned model is fine-tuned on the clean set."""

from __future__ import annotations

import copy
from typing import ClassVar, Literal

import torch
from torch import nn

from tony.vision.evaluate import features
from tony.vision.models import FEATURES, NamedNet
from tony.vision.poisoning.defenses.base import Defense, DefenseInput, logits
from tony.vision.poisoning.defenses.finetune import fine_tune


class ChannelMask(nn.Module):
    """Multiplies each channel by a fixed 0/1 mask (a pruned channel outputs zeros)."""

    mask: torch.Tensor

    def __init__(self, keep: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mask", keep.float().view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mask


def last_conv_stage(model: NamedNet) -> str:
    """The stage just before the pooled features: the last convolutional one."""
    return model.layer_names[model.layer_names.index(FEATURES) - 1]


def pruned(model: NamedNet, order: torch.Tensor, count: int) -> NamedNet:
    """A copy of `model` with the first `count` channels of `order` of its last convolutional stage zeroed."""
    stage = last_conv_stage(model)
    keep = torch.ones(len(order), dtype=torch.bool)
    keep[order[:count]] = False
    copied = copy.deepcopy(model)
    copied.stages[stage] = nn.Sequential(copied.stages[stage], ChannelMask(keep))
    return copied


class FinePruning(Defense):
    """Prune dormant channels of the last convolutional stage, then fine-tune on the clean set."""

    name: ClassVar[str] = "fine_pruning"
    kind: ClassVar[Literal["repair"]] = "repair"
    max_accuracy_drop: float = 0.05
    """Prune while the clean set's accuracy stays within this of the victim's."""
    step: float = 0.05
    """Prune in steps of this share of the channels."""
    epochs: int = 10
    """Fine-tuning epochs after pruning."""
    lr: float = 0.01

    def prune(self, given: DefenseInput) -> tuple[NamedNet, int]:
        """The pruned model (before fine-tuning) and how many channels it lost."""
        model, images, labels = given.model, given.clean_images, given.clean_labels
        activity = features(model, images, last_conv_stage(model)).mean(dim=(0, 2, 3))
        order = torch.argsort(activity, stable=True)

        def accuracy(candidate: NamedNet) -> float:
            return float((logits(candidate, images).argmax(1) == labels).float().mean())

        floor = accuracy(model) - self.max_accuracy_drop
        best, count = model, 0
        for share in torch.arange(self.step, 1.0, self.step).tolist():
            candidate = pruned(model, order, round(share * len(order)))
            if accuracy(candidate) < floor:
                break
            best, count = candidate, round(share * len(order))
        return best, count

    def repair(self, given: DefenseInput) -> NamedNet:
        model, _ = self.prune(given)
        return fine_tune(model, given.clean_images, given.clean_labels, epochs=self.epochs, lr=self.lr,
                         seed=given.seed)
