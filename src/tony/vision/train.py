"""Training an image classifier on in-memory tensors: the spec, the loop, resumable checkpoints.

`VisionTrainSpec` names everything that decides the trained weights: the model and its sizes, the
optimizer (SGD with momentum or Adam), the learning-rate schedule (constant, step or cosine, per
step), epochs, batch size, augmentation policy (`tony.vision.augment`), seed, and `data`, a
description of the training set supplied by the caller (e.g. a dataset spec and a split), so a
changed dataset changes the key. `train(spec, images, labels, store)` runs it through the kernel's
resumable loop (`tony.core.training`), checkpointing to the store every `checkpoint_every` steps and at
the end. Killed and started again it continues from the last checkpoint: model (with its input
normalisation), optimizer, step and history are restored, and each epoch's order and each step's
augmentation come from generators seeded by (seed, epoch) and (seed, step), so the resumed run's weights
equal an uninterrupted run's.

The batches are gathered from the image tensor by index and augmented by batched torch ops in the
training process itself: for data that fits in memory no DataLoader workers are needed.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field, model_validator

from tony.core.errors import DataError, SpecError
from tony.core.spec import Spec
from tony.core.store import Store
from tony.core.training import ResumableTraining, TrainResult
from tony.vision.augment import augment, check_policy
from tony.vision.models import NamedNet, build_model, check_model

ORDER_STREAM, AUGMENT_STREAM = 1, 2
"""Tag the generators of the epoch order and of each step's augmentation, so they never coincide."""


class VisionTrainSpec(Spec):
    """Everything that decides a trained image classifier."""

    model: str = "resnet8"
    """A name of `tony.vision.models.ARCHITECTURES`."""
    width: int = 16
    """Channels of the first stage (the others are multiples of it)."""
    num_classes: int
    in_channels: int = 3
    image_size: int = 32
    """Side of the (square) training images."""
    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    """SGD's momentum (Nesterov off); Adam ignores it."""
    weight_decay: float = 5e-4
    schedule: Literal["constant", "step", "cosine"] = "cosine"
    """Per-step learning rate: constant, x `lr_gamma` every `lr_step_epochs`, or a cosine from lr to 0."""
    lr_step_epochs: int = 10
    lr_gamma: float = 0.1
    epochs: int = 10
    batch_size: int = 128
    augmentation: str = "standard"
    """none, standard or strong (`tony.vision.augment`)."""
    seed: int = 0
    """Seeds the initial weights, the epoch orders and every augmentation."""
    data: dict[str, Any] = Field(default_factory=dict)
    """What decides the training images (the caller's dataset spec, split, ...): part of the key."""

    @model_validator(mode="after")
    def _check(self) -> VisionTrainSpec:
        check_model(self.model, num_classes=self.num_classes, in_channels=self.in_channels,
                    image_size=self.image_size, width=self.width)
        check_policy(self.augmentation)
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0 or self.lr_step_epochs < 1:
            raise SpecError(f"training needs epochs >= 1, batch_size >= 1, lr > 0 and lr_step_epochs >= 1, got "
                            f"{self.epochs}, {self.batch_size}, {self.lr} and {self.lr_step_epochs}")
        return self

    def build_model(self) -> NamedNet:
        """The untrained model, initialised from `seed`."""
        return build_model(self.model, num_classes=self.num_classes, in_channels=self.in_channels,
                           image_size=self.image_size, width=self.width, seed=self.seed)

    def steps_per_epoch(self, n_images: int) -> int:
        return math.ceil(n_images / self.batch_size)

    def lr_at(self, step: int, steps_per_epoch: int) -> float:
        """The learning rate of `step` (0-based)."""
        if self.schedule == "cosine":
            return self.lr * 0.5 * (1 + math.cos(math.pi * step / (self.epochs * steps_per_epoch)))
        if self.schedule == "step":
            return self.lr * self.lr_gamma ** (step // steps_per_epoch // self.lr_step_epochs)
        return self.lr

    def describe(self) -> str:
        return f"{self.model} w{self.width} {self.epochs} epochs {self.augmentation} aug"


def as_float(images: torch.Tensor) -> torch.Tensor:
    """Images as floats in [0, 1]: uint8 are divided by 255, floats are kept."""
    return images.float().div_(255) if images.dtype == torch.uint8 else images.float()


def check_data(spec: VisionTrainSpec, images: torch.Tensor, labels: torch.Tensor) -> None:
    """A DataError unless `images` (N, C, H, W) and `labels` (N,) fit `spec`."""
    shape = (spec.in_channels, spec.image_size, spec.image_size)
    if images.ndim != 4 or tuple(images.shape[1:]) != shape:
        raise DataError(f"training images have shape {tuple(images.shape)}, the spec expects (N, {shape[0]}, "
                        f"{shape[1]}, {shape[2]}): set in_channels and image_size to the data's")
    if labels.shape != (images.shape[0],) or images.shape[0] == 0:
        raise DataError(f"need one label per image and at least one image, got {images.shape[0]} images and "
                        f"labels of shape {tuple(labels.shape)}")
    if int(labels.min()) < 0 or int(labels.max()) >= spec.num_classes:
        raise DataError(f"labels run from {int(labels.min())} to {int(labels.max())} but the model has "
                        f"{spec.num_classes} classes (0 to {spec.num_classes - 1})")


def fingerprint(images: torch.Tensor, labels: torch.Tensor) -> str:
    """A cheap content hash of a training set: its shape, every label and up to 64 evenly spaced images."""
    digest = hashlib.sha256(repr(tuple(images.shape)).encode())
    digest.update(labels.to(torch.int64).numpy().tobytes())
    digest.update(images[:: max(1, len(images) // 64)].contiguous().numpy().tobytes())
    return digest.hexdigest()


def generator(*seed: int) -> torch.Generator:
    """A torch generator seeded from a tuple of integers (through numpy's SeedSequence, so tuples never collide)."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence(list(seed)).generate_state(1, np.uint64)[0] >> 1))


class VisionTraining(ResumableTraining):
    """`VisionTrainSpec`'s steps on in-memory images in the kernel's resumable loop; its history logs every full
    epoch (mean loss and accuracy over its augmented batches, the lr of its last step)."""

    spec: VisionTrainSpec

    def __init__(self, spec: VisionTrainSpec, images: torch.Tensor, labels: torch.Tensor, store: Store) -> None:
        self.per_epoch = spec.steps_per_epoch(len(images))
        super().__init__(spec, store, total_steps=spec.epochs * self.per_epoch, log_every=self.per_epoch,
                         lr=spec.lr, label=spec.describe())
        self.images, self.labels, self.data_key = images, labels, fingerprint(images, labels)
        self._start_window()

    def _start_window(self) -> None:
        """Zero the sums of the window's losses (times batch size), right answers and images."""
        self._loss_sum, self._correct, self._seen = torch.zeros(()), torch.zeros((), dtype=torch.long), 0

    def restore_model(self, state: dict[str, Any] | None) -> NamedNet:
        model = self.spec.build_model()
        if state is None:
            model.set_normalization(*channel_stats(self.images))
        elif state["data"] != self.data_key:
            raise DataError(f"the checkpoint of training {self.spec.key()[:12]} was made from other images than "
                            "these: give the same data, put what changed into the spec's `data`, or train with restart")
        else:
            model.load_state_dict(state["model"])
        return model

    def make_optimizer(self, model: NamedNet) -> torch.optim.Optimizer:
        return _optimizer(self.spec, model)

    def lr_at(self, step: int) -> float:
        return self.spec.lr_at(step, self.per_epoch)

    def loss(self, model: NamedNet, step: int) -> torch.Tensor:
        epoch, index = divmod(step, self.per_epoch)
        order = torch.randperm(len(self.images), generator=generator(self.spec.seed, ORDER_STREAM, epoch))
        batch = order[index * self.spec.batch_size:(index + 1) * self.spec.batch_size]
        x = augment(as_float(self.images[batch]), self.spec.augmentation,
                    generator(self.spec.seed, AUGMENT_STREAM, step))
        y = self.labels[batch].long()
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y)
        self._loss_sum += loss.detach() * len(batch)  # summed as tensors: no sync with Python every step
        self._correct += (logits.detach().argmax(1) == y).sum()
        self._seen += len(batch)
        return loss

    def window_entry(self, losses: list[float], step: int, full: bool) -> dict[str, float] | None:
        loss_sum, correct, seen = self._loss_sum, self._correct, self._seen
        self._start_window()
        if not full:  # a partial epoch is not recorded
            return None
        return {"epoch": step // self.per_epoch, "loss": float(loss_sum) / seen, "accuracy": float(correct) / seen,
                "lr": self.spec.lr_at(step - 1, self.per_epoch)}

    def examples_at(self, step: int) -> int:
        return min(self.spec.batch_size, len(self.images) - (step % self.per_epoch) * self.spec.batch_size)

    def checkpoint_extras(self) -> dict[str, Any]:
        return {"data": self.data_key}

    def read_history(self, state: dict[str, Any]) -> list[dict[str, float]]:
        # Checkpoints written before the kernel's loop have no "step" in their epochs.
        return [{"step": entry["epoch"] * self.per_epoch, **entry} for entry in state["history"]]


def train(spec: VisionTrainSpec, images: torch.Tensor, labels: torch.Tensor, store: Store, *,
          checkpoint_every: int | None = None, restart: bool = False, max_steps: int | None = None) -> TrainResult:
    """Train `spec` on (`images`, `labels`) to its last step, continuing from its last checkpoint unless `restart`.

    `checkpoint_every` defaults to one epoch of steps; `max_steps` stops after that many steps in this
    call (with a checkpoint there). A checkpoint made from other data than `images` is a DataError.
    """
    check_data(spec, images, labels)
    training = VisionTraining(spec, images, labels, store)
    return training.run(checkpoint_every=checkpoint_every or training.per_epoch, restart=restart,
                        max_steps=max_steps)


def _optimizer(spec: VisionTrainSpec, model: NamedNet) -> torch.optim.Optimizer:
    if spec.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay)


def channel_stats(images: torch.Tensor, limit: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation of (up to `limit` evenly spaced) images, as floats in [0, 1]."""
    sample = as_float(images[:: max(1, len(images) // limit)])
    return sample.mean(dim=(0, 2, 3)), sample.std(dim=(0, 2, 3)).clamp_min(1e-3)


def trained_model(spec: VisionTrainSpec, images: torch.Tensor, labels: torch.Tensor, store: Store) -> NamedNet:
    """The model trained by `spec`: loaded from its final checkpoint, trained (or resumed) first if needed."""
    return train(spec, images, labels, store).model
