"""Training an image classifier on in-memory tensors: the spec, the loop, resumable checkpoints.

`VisionTrainSpec` names everything that decides the trained weights: the model and its sizes, the
optimizer (SGD with momentum or Adam), the learning-rate schedule (constant, step or cosine, per
step), epochs, batch size, augmentation policy (`tony.vision.augment`), seed, and `data`, a
description of the training set supplied by the caller (e.g. a dataset spec and a split), so a
changed dataset changes the key. `train(spec, images, labels, store)` runs it, checkpointing to the
store (`tony.core.checkpoints`) every `checkpoint_every` steps and at the end. Killed and started
again it continues from the last checkpoint: model (with its input normalisation), optimizer, step
and history are restored, and each epoch's order and each step's augmentation come from generators
seeded by (seed, epoch) and (seed, step), so the resumed run's weights equal an uninterrupted run's.

The batches are gathered from the image tensor by index and augmented by batched torch ops in the
training process itself: for data that fits in memory no DataLoader workers are needed.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field, model_validator

from tony.core.checkpoints import discard_checkpoints, latest_checkpoint, load_checkpoint, save_checkpoint
from tony.core.errors import DataError, SpecError
from tony.core.progress import progress_bar
from tony.core.spec import Spec
from tony.core.store import Store
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


@dataclass
class TrainResult:
    """A finished (or partly finished, with `max_steps`) training run."""

    model: NamedNet
    step: int
    total_steps: int
    history: list[dict[str, float]] = field(default_factory=list)
    """Per finished epoch: epoch, mean training loss, training accuracy (on augmented batches), lr."""
    checkpoint: Path | None = None
    resumed_from: int = 0
    seconds: float = 0.0
    """Time spent training in this call."""
    images_per_s: float = 0.0
    """Training images processed per second in this call."""


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


def train(spec: VisionTrainSpec, images: torch.Tensor, labels: torch.Tensor, store: Store, *,
          checkpoint_every: int | None = None, restart: bool = False, max_steps: int | None = None) -> TrainResult:
    """Train `spec` on (`images`, `labels`) to its last step, continuing from its last checkpoint unless `restart`.

    `checkpoint_every` defaults to one epoch of steps; `max_steps` stops after that many steps in this
    call (with a checkpoint there). A checkpoint made from other data than `images` is a DataError.
    """
    check_data(spec, images, labels)
    per_epoch = spec.steps_per_epoch(len(images))
    total, every = spec.epochs * per_epoch, checkpoint_every or per_epoch
    if every < 1:
        raise SpecError(f"checkpoint_every must be at least 1, got {every}")
    if restart:
        discard_checkpoints(store, spec)
    model, data_key = spec.build_model(), fingerprint(images, labels)
    optimizer = _optimizer(spec, model)
    state = load_checkpoint(store, spec)
    step, history = 0, []
    if state is None:
        model.set_normalization(*channel_stats(images))
    else:
        if state["data"] != data_key:
            raise DataError(f"the checkpoint of training {spec.key()[:12]} was made from other images than these: "
                            "give the same data, put what changed into the spec's `data`, or train with restart")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, history = int(state["step"]), list(state["history"])
    start_step, started, checkpoint = step, time.perf_counter(), None
    if step >= total:
        return TrainResult(model.eval(), step, total, history, latest_checkpoint(store, spec), start_step)
    stop = total if max_steps is None else min(total, step + max_steps)
    loss_sum, correct, seen = torch.zeros(()), torch.zeros((), dtype=torch.long), 0
    model.train()
    with progress_bar(total, f"train {spec.describe()}", initial=step, unit="step") as bar:
        while step < stop:
            epoch, index = divmod(step, per_epoch)
            order = torch.randperm(len(images), generator=generator(spec.seed, ORDER_STREAM, epoch))
            batch = order[index * spec.batch_size:(index + 1) * spec.batch_size]
            x = augment(as_float(images[batch]), spec.augmentation, generator(spec.seed, AUGMENT_STREAM, step))
            y = labels[batch].long()
            for group in optimizer.param_groups:
                group["lr"] = spec.lr_at(step, per_epoch)
            logits = model(x)
            loss = torch.nn.functional.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            loss_sum += loss.detach() * len(batch)  # summed as tensors: no sync with Python every step
            correct += (logits.detach().argmax(1) == y).sum()
            seen += len(batch)
            if step % per_epoch == 0 or step == stop:
                mean_loss = float(loss_sum) / seen
                if not math.isfinite(mean_loss):
                    raise SpecError(f"training loss became {mean_loss} in epoch {epoch + 1}: lower lr (now {spec.lr})")
                if step % per_epoch == 0:  # a full epoch's numbers (a partial one is not recorded)
                    history.append({"epoch": epoch + 1, "loss": mean_loss, "accuracy": float(correct) / seen,
                                    "lr": spec.lr_at(step - 1, per_epoch)})
                    bar.set_description(f"train {spec.describe()} loss {mean_loss:.3f}", refresh=False)
                loss_sum, correct, seen = torch.zeros(()), torch.zeros((), dtype=torch.long), 0
            if step % every == 0 or step == stop:
                checkpoint = save_checkpoint(store, spec, {"step": step, "model": model.state_dict(),
                                                           "optimizer": optimizer.state_dict(),
                                                           "history": history, "data": data_key})
            bar.update(1)
    seconds = time.perf_counter() - started
    done_images = sum(min(spec.batch_size, len(images) - (s % per_epoch) * spec.batch_size)
                      for s in range(start_step, step))
    return TrainResult(model.eval(), step, total, history, checkpoint, start_step, seconds, done_images / seconds)


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
