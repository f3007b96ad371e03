"""Training one prior's model: `tony.vision.train`'s resumable loop with the prior's network.

`PriorTrainSpec` is a `VisionTrainSpec` with a `prior`: its key (and so its checkpoint in the store) names the prior
and the training set's description (`data`: the setting, seed, method and round), and `build_model` builds the
prior's network. The input standardisation of a fresh model is set from the transformed images
(`priors.input_statistics`), so an edge model standardises edge maps, not pixels.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from pydantic import model_validator

from tony.core.errors import SpecError
from tony.core.spec import Spec
from tony.core.store import Store
from tony.vision.models import NamedNet
from tony.vision.priors.priors import PRIORS, SHUFFLE_GRID, build_prior_model, input_statistics, resolve_prior
from tony.vision.train import VisionTraining, VisionTrainSpec, check_data

CHECKPOINT_STEPS = 50
"""Steps between checkpoints (and at the end): what a killed training loses at most."""


class Training(Spec):
    """How every model of a study is trained. The defaults fit the world setting on 2 CPU cores: a narrow
    ResNet-8 (the backbone of the standard, edge, blur and patch-shuffle priors), Adam with a cosine schedule,
    about `steps` steps whatever the size of the training set."""

    model: str = "resnet8"
    """The backbone (`tony.vision.models.ARCHITECTURES`); the bagnet prior uses only `width`."""
    width: int = 8
    """Channels of the first stage."""
    optimizer: Literal["sgd", "adam"] = "adam"
    lr: float = 0.01
    weight_decay: float = 0.0
    steps: int = 250
    """Steps per model: each training set gets the whole epochs closest to this (at least one)."""
    batch_size: int = 64
    augmentation: str = "none"
    """none, standard or strong (`tony.vision.augment`)."""

    @model_validator(mode="after")
    def _check(self) -> Training:
        if self.steps < 1:
            raise SpecError(f"training needs steps >= 1, got {self.steps}")
        return self

    def epochs_for(self, images: int) -> int:
        """Whole epochs of `images` images closest to `steps` steps."""
        return max(1, round(self.steps / math.ceil(images / self.batch_size)))


class PriorTrainSpec(VisionTrainSpec):
    """A `VisionTrainSpec` whose model is a feature prior's."""

    prior: str = "standard"
    """A name of `priors.PRIORS`."""

    @model_validator(mode="after")
    def _check_prior(self) -> PriorTrainSpec:
        if self.prior not in PRIORS:
            resolve_prior(self.prior)  # the one-line unknown-prior error
        if self.prior == "patch_shuffle" and self.image_size % SHUFFLE_GRID:
            raise SpecError(f"the patch_shuffle prior cuts images into {SHUFFLE_GRID}x{SHUFFLE_GRID} patches: the "
                            f"image side ({self.image_size}) must be a multiple of {SHUFFLE_GRID}")
        return self

    def build_model(self) -> NamedNet:
        return build_prior_model(self.prior, self.model, num_classes=self.num_classes, in_channels=self.in_channels,
                                 image_size=self.image_size, width=self.width, seed=self.seed)

    def describe(self) -> str:
        return f"{self.prior} {super().describe()}"


def prior_spec(training: Training, prior: str, *, num_classes: int, shape: tuple[int, int], images: int, seed: int,
               data: dict[str, Any]) -> PriorTrainSpec:
    """The spec of `prior`'s model trained with `training` on `images` images described by `data`."""
    channels, side = shape
    return PriorTrainSpec.parse({
        "model": training.model, "width": training.width, "optimizer": training.optimizer, "lr": training.lr,
        "weight_decay": training.weight_decay, "epochs": training.epochs_for(images),
        "batch_size": training.batch_size, "augmentation": training.augmentation, "num_classes": num_classes,
        "in_channels": channels, "image_size": side, "seed": seed, "data": data, "prior": prior})


class PriorTraining(VisionTraining):
    """`VisionTraining` whose fresh model standardises what its prior passes on."""

    def restore_model(self, state: dict[str, Any] | None) -> NamedNet:
        if state is not None:
            return super().restore_model(state)
        model = self.spec.build_model()
        model.set_normalization(*input_statistics(model, self.images))
        return model


def train_prior(spec: PriorTrainSpec, images: torch.Tensor, labels: torch.Tensor, store: Store) -> NamedNet:
    """The model trained by `spec` on (`images`, `labels`): loaded from its final checkpoint, or trained (resumed
    from its last checkpoint) first."""
    check_data(spec, images, labels)
    training = PriorTraining(spec, images, labels, store)
    return training.run(checkpoint_every=CHECKPOINT_STEPS).model
