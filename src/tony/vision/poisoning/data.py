"""The images of a poisoning study: the victim's training set, the defender's own small clean set, and the test
set, from the generated world (its 10 shape families as classes), Fashion-MNIST, or a folder of class folders.

Kept apart from `study` so the spec imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tony.core.errors import DataError, SpecError
from tony.vision.data.dataset import ImageDataset
from tony.vision.hierarchy import Hierarchy
from tony.vision.poisoning.spec import PoisonData

WORLD_CLASSES = ("disc", "square", "equilateral", "star-3", "plus", "bar", "two-dots", "single-arrow", "plain-ring",
                 "hollow-square")
"""The world's classes here: one shape of each family (whole families, four shapes each, are too hard to learn from
a few thousand images on a CPU budget: 29% test accuracy against 68% for these at 6,000 images)."""


@dataclass(frozen=True)
class PoisonSplits:
    """Three disjoint image sets with the same classes."""

    train: ImageDataset
    """What the victim trains on (the attacker poisons part of it)."""
    clean: ImageDataset
    """The defender's clean set (fine-tuning, pruning, STRIP's overlays)."""
    test: ImageDataset

    @property
    def classes(self) -> tuple[str, ...]:
        return self.train.classes


def load_splits(data: PoisonData) -> PoisonSplits:
    """The data's three sets (seeded; see `PoisonData`)."""
    wanted = data.train_images + data.clean_images
    if data.dataset == "world":
        world = data.world.generate(wanted + data.test_images, seed=data.seed, classes=WORLD_CLASSES, progress=True)
        pool, test = world.subset(slice(0, wanted)), world.subset(slice(wanted, None))
    elif data.dataset == "fashion-mnist":
        from tony.vision.data.fashion_mnist import load_fashion_mnist

        folder = data.path or "/usr/share/datasets/fashion-mnist"
        pool = sample(load_fashion_mnist(folder, "train"), wanted, data.seed)
        test = sample(load_fashion_mnist(folder, "test"), data.test_images, data.seed)
    else:
        whole = folder_dataset(Path(data.dataset), data.image_size)
        test_share = data.test_images / len(whole)
        if not 0 < test_share < 1:
            raise DataError(f"folder {data.dataset} has {len(whole)} images, too few for {data.test_images} test "
                            "images: lower test_images")
        pool, test = whole.split(1 - test_share, seed=data.seed)
        pool = sample(pool, wanted, data.seed)
    if len(pool) < wanted:
        raise DataError(f"{data.dataset} has {len(pool)} training images, fewer than train_images + clean_images = "
                        f"{wanted}: lower them")
    order = np.random.default_rng([data.seed, 7]).permutation(len(pool))
    return PoisonSplits(pool.subset(order[:data.train_images]), pool.subset(order[data.train_images:]), test)


def cached_splits(data: PoisonData) -> PoisonSplits:
    """`load_splits(data)`, remembered for the last data spec (a run checks its data first, then uses it)."""
    key = data.key()
    if key not in _LAST:
        _LAST.clear()
        _LAST[key] = load_splits(data)
    return _LAST[key]


_LAST: dict[str, PoisonSplits] = {}


def sample(dataset: ImageDataset, count: int, seed: int) -> ImageDataset:
    """`count` images of `dataset` drawn without replacement (seeded), or all of them when it has fewer."""
    if count >= len(dataset):
        return dataset
    return dataset.subset(np.sort(np.random.default_rng([seed, 5]).choice(len(dataset), count, replace=False)))


def folder_dataset(root: Path, size: int) -> ImageDataset:
    """Every image under `root`, one sub-folder per class (any names), resized to `size`."""
    from tony.vision.data.folder import load_image_folder

    if not root.is_dir():
        raise DataError(f"dataset {root} is neither world, fashion-mnist nor a folder of class folders")
    names = sorted(p.name for p in root.iterdir() if p.is_dir())
    if len(names) < 2:
        raise DataError(f"folder {root} needs at least two class folders, found {len(names)}")
    return load_image_folder(root, Hierarchy([("root", n) for n in names]), size=size)


def target_label(classes: tuple[str, ...], hierarchy: Hierarchy, target: str | None) -> int:
    """The label of the target class, given by id or name (None: the last class)."""
    if target is None:
        return len(classes) - 1
    for label, node in enumerate(classes):
        if target in (node, hierarchy.name(node)):
            return label
    raise SpecError(f"unknown target class '{target}': choose one of {', '.join(classes)}")


def resolve_targets(test_labels: torch.Tensor, target: int, given: tuple[int, ...], seed: int) -> tuple[int, ...]:
    """The targeted goal's test instances: those given (checked), else one of another class, drawn by `seed`."""
    if given:
        bad = [t for t in given if t >= len(test_labels)]
        if bad:
            raise SpecError(f"target instance {bad[0]} is beyond the {len(test_labels)} test images")
        return given
    others = np.flatnonzero((test_labels != target).numpy())
    return (int(np.random.default_rng([seed, 11]).choice(others)),)
