"""The study's image sets: a small labeled set whose spurious cue is tied to the class, a large unlabeled set and
a test set where it is not.

- ``world``: the generated world (`tony.vision.data.world`), one shape per class and one background texture per
  class. In the labeled set an image shows its class's background with probability ``p + (1 - p) / K`` (K
  classes), else one of the others: a fraction p of the images carries the class's texture beyond chance, so
  p = 0 is no correlation at all and p = 1 a background that always tells the class. Unlabeled and test
  backgrounds are uniform. Objects are flat-coloured (foreground texture ``plain``), so the only texture cue is
  the background, unless ``object_textures`` gives each class an object texture: then, in every set, an object
  shows its class's texture with probability ``q + (1 - q) / K`` (q = ``object_tie``), else another class's: a
  genuine texture cue beside the shape, as real classes have (the paper's STL-10 animals).
- ``fashion-mnist``: Fashion-MNIST's training images (labeled, then unlabeled) and test images, with an added
  spurious cue: a 2x2 white mark on the top row, at one of K evenly spaced places; in the labeled set an image's
  mark is at its class's place with probability ``p + (1 - p) / K``, else elsewhere; in the others uniformly.

A setting's images are a function of the `Setting` and the seed: the seed draws the labeled and unlabeled images,
the test set (and the world's cue-conflict set, `tony.vision.priors.cue_conflict`) is the same for every seed, so
seeds are compared on the same test images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import Field, model_validator

from tony.core.errors import SpecError
from tony.core.spec import Spec
from tony.vision.data.dataset import ImageDataset, image_shape
from tony.vision.data.world import ShapeWorld

WORLD_CLASSES = ("disc", "square", "equilateral", "plus")
"""Shapes of the default world setting, one per family, with clearly different outlines."""
WORLD_TEXTURES = ("plain", "grass", "snow", "sand")
"""Their backgrounds: fine patterns that the edge prior's blur and threshold remove (see `priors.EDGE_THRESHOLD`)."""
FASHION_TRAIN = 60_000
FASHION_TEST = 10_000
TEST_STREAM, CONFLICT_STREAM = 1_000_003, 1_000_004
"""World streams of the test and cue-conflict sets (seed-independent); a seed s draws streams 2s and 2s + 1."""


class Setting(Spec):
    """Which data, how much of it is labeled, and how strongly the labeled set's spurious cue follows the class."""

    dataset: Literal["world", "fashion-mnist"] = "world"
    """The generated world, or Fashion-MNIST with an added mark."""
    path: str | None = None
    """fashion-mnist: the idx folder (default Debian's /usr/share/datasets/fashion-mnist)."""
    labeled: int = Field(200, ge=1)
    """Labeled training images."""
    unlabeled: int = Field(2000, ge=1)
    """Unlabeled training images (their labels are used only to score pseudo-labels)."""
    test: int = Field(1000, ge=1)
    """Test images (and world cue-conflict images)."""
    spurious: float = 0.9
    """p: the fraction of labeled images whose spurious cue is their class's beyond chance (0: none, 1: always)."""
    classes: tuple[str, ...] = WORLD_CLASSES
    """world: the shapes, one per class."""
    textures: tuple[str, ...] = WORLD_TEXTURES
    """world: each class's background texture, in class order."""
    object_textures: tuple[str, ...] = ()
    """world: each class's object texture, in class order, in every set (empty: flat-coloured objects, and the
    only class-tied texture is the spurious background)."""
    object_tie: float = 0.5
    """q: with object_textures, the fraction of images (in every set) whose object shows its class's texture beyond
    chance (q + (1 - q) / K in all; 0: none, 1: always)."""
    world: ShapeWorld = ShapeWorld(size=24, min_scale=0.6, max_scale=0.9)
    """world: rendering (24 px and large objects keep training on 2 cores short)."""

    @model_validator(mode="after")
    def _check(self) -> Setting:
        if not 0.0 <= self.spurious <= 1.0:
            raise SpecError(f"the spurious correlation p must be in [0, 1], got {self.spurious}")
        if self.dataset == "world":
            if len(self.classes) < 2 or len(self.textures) != len(self.classes):
                raise SpecError(f"the world setting needs at least 2 classes and one background texture per class, "
                                f"got {len(self.classes)} classes and {len(self.textures)} textures")
            if self.object_textures and len(self.object_textures) != len(self.classes):
                raise SpecError(f"object_textures gives {len(self.object_textures)} textures for "
                                f"{len(self.classes)} classes: give one per class, in class order")
            if set(self.object_textures) & set(self.textures):
                raise SpecError("object_textures and the background textures share "
                                f"{', '.join(sorted(set(self.object_textures) & set(self.textures)))}: a texture "
                                "must tell either an object's class or a background's, so choose others")
            if not 0.0 <= self.object_tie <= 1.0:
                raise SpecError(f"object_tie q must be in [0, 1], got {self.object_tie}")
            if self.labeled < len(self.classes):
                raise SpecError(f"{self.labeled} labeled images cannot show each of the {len(self.classes)} classes: "
                                "label at least one image per class")
        elif self.labeled + self.unlabeled > FASHION_TRAIN or self.test > FASHION_TEST:
            raise SpecError(f"Fashion-MNIST has {FASHION_TRAIN:,} training and {FASHION_TEST:,} test images: "
                            f"{self.labeled:,} labeled + {self.unlabeled:,} unlabeled and {self.test:,} test images "
                            "are more than that; ask for fewer")
        return self

    @property
    def num_classes(self) -> int:
        return len(self.classes) if self.dataset == "world" else 10

    @property
    def shape(self) -> tuple[int, int]:
        """(channels, side) of the images."""
        return image_shape(self.dataset, self.world.size)

    def describe(self) -> str:
        objects = f", object textures q = {self.object_tie:g}" if self.object_textures else ""
        return f"{self.dataset}, {self.labeled} labeled, p = {self.spurious:g}{objects}"


@dataclass(frozen=True)
class SettingData:
    """One seed's images of a setting. Attribute ``cue`` of each set: the class its spurious cue points to."""

    labeled: ImageDataset
    unlabeled: ImageDataset
    test: ImageDataset


def beyond_chance(fraction: float, classes: int) -> float:
    """The probability that a cue tied to the class in `fraction` of images beyond chance is the class's:
    fraction + (1 - fraction) / K."""
    return fraction + (1.0 - fraction) / classes


def biased_probability(setting: Setting) -> float:
    """The probability that a labeled image's spurious cue is its class's (p beyond chance)."""
    return beyond_chance(setting.spurious, setting.num_classes)


def make_setting(setting: Setting, seed: int) -> SettingData:
    """The labeled, unlabeled and test images of `setting` for `seed`."""
    if seed < 0:
        raise SpecError(f"seeds must be >= 0, got {seed}")
    if setting.dataset == "world":
        return SettingData(world_images(setting, setting.labeled, 2 * seed, biased=True),
                           world_images(setting, setting.unlabeled, 2 * seed + 1, biased=False),
                           world_images(setting, setting.test, TEST_STREAM, biased=False))
    return _fashion(setting, seed)


def world_images(setting: Setting, n: int, stream: int, *, biased: bool,
                 background_for_class: dict[str, str] | None = None,
                 object_for_class: dict[str, str] | None = None) -> ImageDataset:
    """`n` world images of the setting's classes: backgrounds tied to the class as in the labeled set (`biased`),
    uniform, or given per class (always); objects flat-coloured, or with their class's texture as often in every
    set (`Setting.object_textures`), or given per class (always); attribute ``cue``: the class whose texture the
    background is."""
    if biased:
        background_for_class = dict(zip(setting.classes, setting.textures, strict=True))
    objects, tie = setting.object_textures, 1.0
    if objects and object_for_class is None:
        object_for_class, tie = dict(zip(setting.classes, objects, strict=True)), beyond_chance(
            setting.object_tie, len(setting.classes))
    data = setting.world.generate(n, seed=stream, classes=setting.classes, foregrounds=objects or ["plain"],
                                  backgrounds=setting.textures, background_for_class=background_for_class,
                                  foreground_for_class=object_for_class, foreground_correlation=tie,
                                  spurious_correlation=biased_probability(setting) if biased else 1.0)
    cue = np.array([setting.textures.index(t) for t in data.attributes["background"]])
    return _with_cue(data, cue)


def _with_cue(data: ImageDataset, cue: np.ndarray) -> ImageDataset:
    return ImageDataset(data.images, data.labels, data.classes, data.hierarchy, {**data.attributes, "cue": cue},
                        data.masks)


def _fashion(setting: Setting, seed: int) -> SettingData:
    from tony.vision.data.fashion_mnist import load_fashion_mnist

    folder = Path(setting.path) if setting.path else None
    train = load_fashion_mnist(folder, "train") if folder else load_fashion_mnist(split="train")
    test = load_fashion_mnist(folder, "test") if folder else load_fashion_mnist(split="test")
    rng = np.random.default_rng([seed, 25])
    order = rng.permutation(len(train))
    labeled = train.subset(order[:setting.labeled])
    unlabeled = train.subset(order[setting.labeled:setting.labeled + setting.unlabeled])
    test = test.subset(np.random.default_rng([TEST_STREAM, 25]).permutation(len(test))[:setting.test])
    return SettingData(with_mark(labeled, biased_probability(setting), rng),
                       with_mark(unlabeled, None, rng),
                       with_mark(test, None, np.random.default_rng([TEST_STREAM, 26])))


def mark_columns(classes: int, side: int = 28) -> np.ndarray:
    """The left column of each class's 2x2 mark, evenly spaced along the top row."""
    return np.linspace(1, side - 3, classes).round().astype(np.int64)


def with_mark(data: ImageDataset, probability: float | None, rng: np.random.Generator) -> ImageDataset:
    """A copy of `data` with a 2x2 white mark on row 1 of each image: at its class's place with `probability`, else
    at another, uniformly; at a uniform place for None."""
    k, n = len(data.classes), len(data)
    labels = data.labels.numpy()
    cue = rng.integers(0, k, n)
    if probability is not None:
        other = (labels + rng.integers(1, k, n)) % k  # uniform over the other classes' places
        cue = np.where(rng.random(n) < probability, labels, other)
    images = data.images.clone()
    columns = torch.from_numpy(mark_columns(k, images.shape[-1])[cue])
    rows = torch.arange(n)
    for dy in (1, 2):
        for dx in (0, 1):
            images[rows, :, dy, columns + dx] = 255
    return ImageDataset(images, data.labels, data.classes, data.hierarchy, {**data.attributes, "cue": cue},
                        data.masks)
