"""The baselines: fine-tuning one layer (local) or the whole model (global) on the transformed exemplars with their
labels, by SGD with momentum, stopped early once every exemplar is classified right (the paper's rule) or after a
fixed budget. Batch norm keeps its running statistics (the model stays in eval mode): a few exemplars would make
poor batch statistics.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from tony.vision.editing.rewrite import editable_layer
from tony.vision.editing.spec import FinetuneSettings
from tony.vision.models import NamedNet
from tony.vision.train import as_float

MOMENTUM = 0.9


@dataclass(frozen=True)
class Finetune:
    """One fine-tuning: the edited model and how many steps it took."""

    model: NamedNet
    steps: int


def finetune(model: NamedNet, images: torch.Tensor, labels: torch.Tensor, settings: FinetuneSettings, *,
             layer: str | None) -> Finetune:
    """A copy of `model` fine-tuned on (`images`, `labels`): only `layer` (a Conv2d or Linear), or every weight when
    `layer` is None; `model` is left unchanged."""
    tuned = copy.deepcopy(model).eval()
    trained = list(editable_layer(tuned, layer).parameters()) if layer is not None else list(tuned.parameters())
    for parameter in tuned.parameters():
        parameter.requires_grad_(False)
    for parameter in trained:
        parameter.requires_grad_(True)
    optimizer = torch.optim.SGD(trained, lr=settings.lr, momentum=MOMENTUM)
    x, y = as_float(images), labels.long()
    step = 0
    while step < settings.steps:
        logits = tuned(x)
        if settings.early_stop and bool((logits.argmax(1) == y).all()):
            break
        loss = torch.nn.functional.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
    for parameter in tuned.parameters():
        parameter.requires_grad_(True)
    return Finetune(tuned.eval(), step)
