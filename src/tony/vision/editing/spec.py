"""The specs of classifier editing: the data and model, the edit methods' settings, and the study.

A study (`EditStudySpec`) trains `seeds` models on the data (each a checkpoint keyed by its training spec),
draws `draws` sets of `exemplars` training images per model, and edits each model once per draw and method
(`rewrite`, `finetune_local`, `finetune_global`) so that the exemplars with the concept transformed (e.g. the
background replaced by snow) are treated like the originals. Every edited model is an artifact keyed by its
`EditedModelSpec`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from tony.core.errors import SpecError
from tony.core.spec import RunnableSpec, Spec
from tony.vision.data.dataset import image_shape
from tony.vision.data.world import ShapeWorld

KIND = "editing"
METHODS = ("rewrite", "finetune_local", "finetune_global")
WORLD_CLASSES = ("disc", "square", "equilateral", "star-4", "plus", "bar", "three-dots", "single-arrow",
                 "plain-ring", "window")
"""One shape of each of the world's ten families: distinct shapes, so a small model learns them in minutes."""
TRAIN_TEXTURES = ("plain", "grass", "road", "water", "sand")
"""The textures the world's models see, as backgrounds and foregrounds: snow, bricks, stripes, dots and checker
are new to them, as snow on a road was to the paper's ImageNet models."""


class EditData(Spec):
    """Where the images come from, and which of them train the model and test the edits."""

    dataset: Literal["world", "fashion-mnist"] = "world"
    """The generated world (masks exact) or Fashion-MNIST (the garment's mask by a threshold)."""
    path: str | None = None
    """fashion-mnist: the idx folder (default Debian's)."""
    world: ShapeWorld = ShapeWorld()
    """The generated world's rendering settings."""
    classes: tuple[str, ...] | None = None
    """The classes the model learns (default: world, one shape per family; fashion-mnist, all ten)."""
    backgrounds: tuple[str, ...] = TRAIN_TEXTURES
    """world: the background textures of every image (training and test)."""
    foregrounds: tuple[str, ...] = TRAIN_TEXTURES
    """world: the object textures of every image."""
    train_per_class: int = Field(300, ge=1)
    """Training images per class (world: generated; fashion-mnist: a seeded sample of its train split)."""
    test_per_class: int = Field(100, ge=1)
    """Test images per class (world: generated after the training images; fashion-mnist: from its test split)."""
    garment_threshold: int = Field(25, ge=0, le=254)
    """fashion-mnist: pixels brighter than this (0-255) are the garment."""
    seed: int = 0
    """Seeds the world's images and the sampling of Fashion-MNIST."""

    @property
    def class_names(self) -> tuple[str, ...]:
        """The classes, the default resolved."""
        if self.classes is not None:
            return self.classes
        if self.dataset == "world":
            return WORLD_CLASSES
        from tony.vision.data.fashion_mnist import CLASSES

        return CLASSES

    @property
    def shape(self) -> tuple[int, int]:
        """(channels, side) of the images."""
        return image_shape(self.dataset, self.world.size)


class EditTraining(Spec):
    """How the models to edit are trained (see `tony.vision.train.VisionTrainSpec`); the defaults fit the world on
    2 CPU cores in about half a minute."""

    model: str = "resnet8"
    """A name of `tony.vision.models.ARCHITECTURES`."""
    width: int = 16
    """Channels of the first stage."""
    lr: float = 0.003
    """Adam's learning rate (cosine schedule)."""
    epochs: int = 12
    """Training epochs."""
    batch_size: int = 128
    """Images per step."""
    augmentation: str = "standard"
    """The augmentation policy (`tony.vision.augment`)."""


class RewriteSettings(Spec):
    """The rank-one rewrite of one layer (Bau et al. 2020, as Santurkar et al. 2021 use it)."""

    rank: int = Field(1, ge=1)
    """Rank of the update: the keys' top singular directions, whitened by C^-1."""
    steps: int = Field(400, ge=0)
    """Projected Adam steps; 0 leaves the layer unchanged."""
    lr: float = Field(0.05, gt=0)
    """Adam's learning rate."""
    loss: Literal["l1", "l2"] = "l1"
    """Error between the edited layer's output on the keys and the values: mean absolute (the paper's) or squared."""
    covariance_images: int = Field(500, ge=1)
    """Training images whose keys (the layer's inputs at every position) make the second moment C."""
    ridge: float = Field(1e-3, ge=0)
    """C + ridge * mean(diag C) * I is inverted (channels a ReLU never opens leave C singular)."""


class FinetuneSettings(Spec):
    """Fine-tuning on the transformed exemplars with their labels: the baselines."""

    steps: int = Field(100, ge=0)
    """Most SGD steps (the whole budget without early stopping)."""
    lr: float = Field(0.01, gt=0)
    """SGD's learning rate (momentum 0.9)."""
    early_stop: bool = True
    """Stop at the first step where every transformed exemplar is classified as its label (the paper's rule)."""


class EditStudySpec(RunnableSpec):
    """Editing models so that a concept under a transformation is treated as before it, and the paper's evaluation."""

    data: EditData = EditData()
    """The images, the classes and the model's training data."""
    train: EditTraining = EditTraining()
    """How the models are trained."""
    concept: str = "background"
    """world: foreground or background, optionally restricted to images with one texture there
    ("background:grass"); fashion-mnist: garment or background."""
    style: str = "snow"
    """The texture that replaces the concept (any world texture; on Fashion-MNIST its pattern shades the region)."""
    methods: tuple[str, ...] = METHODS
    """Which edits to make: rewrite, finetune_local, finetune_global."""
    layer: str | None = None
    """The layer edited by rewrite and finetune_local (a Conv2d or Linear, by dotted path); default: the last
    block's last convolution (resnet: blockN.0.conv2)."""
    exemplars: int = Field(1, ge=1)
    """Training images of one class per edit."""
    exemplar_class: str | None = None
    """The exemplars' class; default: drawn per draw among the classes with the concept."""
    seeds: int = Field(1, ge=1)
    """Models trained (seeds 0 .. seeds-1), each edited `draws` times."""
    draws: int = Field(10, ge=1)
    """Exemplar draws per model."""
    rewrite: RewriteSettings = RewriteSettings()
    """The rewrite's settings."""
    finetune: FinetuneSettings = FinetuneSettings()
    """The fine-tuning baselines' settings."""
    save_edits: bool = True
    """Store every edited model as an artifact keyed by its EditedModelSpec (and reuse it on a rerun)."""
    seed: int = 0
    """Seeds the exemplar draws and the bootstrap."""

    @model_validator(mode="after")
    def _check(self) -> EditStudySpec:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise SpecError(f"unknown edit method '{unknown[0] if unknown else ''}': choose from {', '.join(METHODS)}")
        if self.exemplar_class is not None and self.exemplar_class not in self.data.class_names:
            raise SpecError(f"the model does not know class '{self.exemplar_class}': its classes are "
                            f"{', '.join(self.data.class_names)}")
        from tony.vision.editing.concept import check_concept
        from tony.vision.editing.rewrite import editable_layer

        check_concept(self.data, self.concept, self.style)
        # An unknown model, augmentation policy or layer fails now, not after the model is trained.
        editable_layer(self.train_spec(0).build_model(), self.edited_layer)
        return self

    @property
    def edited_layer(self) -> str:
        """The layer that rewrite and finetune_local change."""
        if self.layer is not None:
            return self.layer
        from tony.vision.models import ARCHITECTURES

        stages = ARCHITECTURES[self.train.model].stages
        last = f"block{len(stages)}"
        if ARCHITECTURES[self.train.model].family == "resnet":
            return f"{last}.0.conv2"
        return f"{last}.{3 * stages[-1][0] - 3}"  # the last conv of a VGG stage (conv, bn, relu per conv)

    def train_spec(self, seed: int) -> Any:
        """The `VisionTrainSpec` of model `seed`."""
        from tony.vision.train import VisionTrainSpec

        channels, side = self.data.shape
        return VisionTrainSpec.parse({**self.train.model_dump(), "optimizer": "adam", "weight_decay": 0.0,
                                      "num_classes": len(self.data.class_names), "in_channels": channels,
                                      "image_size": side, "seed": seed,
                                      "data": {"editing": self.data.model_dump(mode="json")}})

    def describe(self) -> str:
        return f"{self.data.dataset} {self.concept} -> {self.style}, {self.exemplars} exemplar(s)"

    def task(self, store: Any) -> Any:
        from tony.vision.editing.study import EditTask

        return EditTask(self, store)


class EditedModelSpec(Spec):
    """What decides one edited model: the base model, the edit and its exemplars (its artifact's key)."""

    base: str
    """The key of the trained model's VisionTrainSpec."""
    method: str
    """rewrite, finetune_local or finetune_global."""
    layer: str
    """The layer rewritten or fine-tuned (finetune_global changes every layer)."""
    concept: str
    """The concept transformed in the exemplars (as `EditStudySpec.concept`)."""
    style: str
    """The texture that replaced it."""
    exemplars: tuple[int, ...]
    """Positions of the exemplars in the training images."""
    settings: dict[str, Any]
    """The method's settings (RewriteSettings or FinetuneSettings as JSON)."""
    data: dict[str, Any]
    """The EditData the exemplars come from."""
