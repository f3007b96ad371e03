"""Evaluating an image classifier: predictions in batches, accuracy per class and per subclass, and
retraining only the last layer on frozen features.

    result = evaluate(model, images, labels, classes=("dog", "cat"), subclasses=subclass_of_each_image)
    result.accuracy, result.per_class["dog"].accuracy, result.per_subclass["beagle"].n
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from tony.core.errors import DataError, SpecError
from tony.vision.models import FEATURES, NamedNet
from tony.vision.train import as_float, generator

EVAL_BATCH = 512
HEAD_STREAM = 3
"""Tags the generator of the last-layer retraining's batch order."""


@dataclass(frozen=True)
class GroupAccuracy:
    """Accuracy on the images of one group (a class or a subclass)."""

    correct: int
    n: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else float("nan")


@dataclass(frozen=True)
class Evaluation:
    """A model's predictions on labelled images."""

    predictions: np.ndarray
    """[N] predicted class index."""
    correct: np.ndarray
    """[N] bool."""
    per_class: dict[str, GroupAccuracy]
    """By true class (name from `classes`, else the label as text)."""
    per_subclass: dict[str, GroupAccuracy]
    """By subclass, when subclasses were given (else empty)."""

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean()) if len(self.correct) else float("nan")

    @property
    def n(self) -> int:
        return len(self.correct)


def _batches(model: NamedNet, images: torch.Tensor, layer: str | None, batch_size: int) -> torch.Tensor:
    """The model's outputs (logits, or the features of `layer`) for every image, in eval mode without gradients."""
    was_training = model.training
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = as_float(images[start:start + batch_size])
            outputs.append(model(batch) if layer is None else model.features(batch, layer))
    model.train(was_training)
    if not outputs:
        raise DataError("no images to evaluate on: the evaluation set is empty")
    return torch.cat(outputs)


def predict(model: NamedNet, images: torch.Tensor, *, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """Logits [N, classes] for `images` (uint8 or float [N, C, H, W])."""
    return _batches(model, images, None, batch_size)


def features(model: NamedNet, images: torch.Tensor, layer: str = FEATURES, *,
             batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """The output of `layer` for every image (the flattened penultimate features by default)."""
    return _batches(model, images, layer, batch_size)


def group_accuracy(correct: np.ndarray, groups: Sequence[str] | np.ndarray) -> dict[str, GroupAccuracy]:
    """Correct count and size of each group, in sorted group order."""
    groups = np.asarray(groups).astype(str)
    if len(groups) != len(correct):
        raise DataError(f"need one group per prediction, got {len(groups)} groups for {len(correct)} predictions")
    names, inverse = np.unique(groups, return_inverse=True)
    hits = np.bincount(inverse, weights=correct.astype(float), minlength=len(names))
    sizes = np.bincount(inverse, minlength=len(names))
    return {str(name): GroupAccuracy(int(h), int(s)) for name, h, s in zip(names, hits, sizes, strict=True)}


def evaluate(model: NamedNet, images: torch.Tensor, labels: torch.Tensor, *, classes: Sequence[str] | None = None,
             subclasses: Sequence[str] | np.ndarray | None = None, batch_size: int = EVAL_BATCH) -> Evaluation:
    """Predict every image and count accuracy overall, per true class and (given each image's subclass) per subclass."""
    predictions = predict(model, images, batch_size=batch_size).argmax(1).numpy()
    truth = labels.numpy()
    correct = predictions == truth
    names = np.asarray(classes)[truth] if classes is not None else truth.astype(str)
    per_subclass = group_accuracy(correct, subclasses) if subclasses is not None else {}
    return Evaluation(predictions, correct, group_accuracy(correct, names), per_subclass)


def retrain_last_layer(model: NamedNet, images: torch.Tensor, labels: torch.Tensor, *, num_classes: int | None = None,
                       epochs: int = 60, lr: float = 0.01, weight_decay: float = 1e-4, batch_size: int = 256,
                       seed: int = 0) -> NamedNet:
    """A copy of `model` whose last layer is re-initialised (seeded) and trained with Adam on `images`' frozen
    penultimate features (computed once, in eval mode, and standardised); every other weight is unchanged."""
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise SpecError(f"last-layer retraining needs epochs >= 1, batch_size >= 1 and lr > 0, got {epochs}, "
                        f"{batch_size} and {lr}")
    feats, targets = features(model, images), labels.long()
    # Trained on standardised features (so one lr suits any feature scale), then folded back into the layer.
    mean, std = feats.mean(0), feats.std(0).clamp_min(1e-6)
    feats = (feats - mean) / std
    retrained = copy.deepcopy(model)
    head = retrained.reset_head(num_classes, seed=seed)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay)
    for epoch in range(epochs):
        order = torch.randperm(len(feats), generator=generator(seed, HEAD_STREAM, epoch))
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            loss = torch.nn.functional.cross_entropy(head(feats[batch]), targets[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    with torch.no_grad():  # W (f - m) / s + b = (W / s) f + (b - W (m / s))
        head.bias.sub_(head.weight @ (mean / std))
        head.weight.div_(std)
    return retrained.eval()
