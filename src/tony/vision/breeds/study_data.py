"""The images and models of a BREEDS study: loading the dataset, the task, the four image sets, the variants.

Kept apart from `study` (the spec, the runner's task and the stats) so those import no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tony.core.store import Store
from tony.vision.breeds.splits import Task, make_task, published_task
from tony.vision.data.dataset import ImageDataset
from tony.vision.hierarchy import Hierarchy

if TYPE_CHECKING:
    from tony.vision.breeds.study import BreedsStudySpec
    from tony.vision.models import NamedNet


@dataclass(frozen=True)
class StudySplits:
    """A BREEDS task and its four image sets, each labelled by superclass (attribute "subclass" kept)."""

    task: Task
    source_train: ImageDataset
    source_test: ImageDataset
    target_train: ImageDataset
    """Only the last-layer intervention trains on it."""
    target_test: ImageDataset


def load_task_and_data(spec: BreedsStudySpec) -> tuple[Task, ImageDataset]:
    """The spec's BREEDS task and the images of its subclasses (at most `images_per_class` each; real data is
    sampled, seeded). The world's task is made before any image is drawn, so a bad level fails at once."""
    data = spec.data
    if data.dataset == "world":
        task = _task(spec, data.world.hierarchy())
        leaves = [leaf for sc in task.superclasses for leaf in (*sc.source, *sc.target)]
        return task, data.world.generate(data.images_per_class * len(leaves), seed=data.seed, classes=leaves,
                                         progress=True)
    if data.dataset == "fashion-mnist":
        from tony.vision.data.fashion_mnist import load_fashion_mnist

        dataset = load_fashion_mnist(data.path) if data.path else load_fashion_mnist()
        return _task(spec, dataset.hierarchy), cap_per_class(dataset, data.images_per_class, data.seed)
    from tony.vision.breeds.files import read_breeds
    from tony.vision.data.folder import load_image_folder

    # The ignores below: BreedsStudySpec._check requires data.path and data.hierarchy for ImageNet.
    hierarchy = read_breeds(data.hierarchy).hierarchy  # type: ignore[arg-type]
    if spec.benchmark is not None:  # a published benchmark is defined on the whole BREEDS hierarchy
        task = published_task(spec.benchmark, hierarchy, spec.split, spec.split_seed)
        leaves = [leaf for sc in task.superclasses for leaf in (*sc.source, *sc.target)]
        dataset = load_image_folder(data.path, hierarchy, size=data.image_size, classes=leaves)  # type: ignore[arg-type]
    else:  # a level of the classes the folder has
        dataset = load_image_folder(data.path, hierarchy, size=data.image_size)  # type: ignore[arg-type]
        task = _task(spec, dataset.hierarchy)
    return task, cap_per_class(dataset, data.images_per_class, data.seed)


def _task(spec: BreedsStudySpec, hierarchy: Hierarchy) -> Task:
    # The ignore: without a benchmark (the only case that gets here) `level` is set by the spec's validator.
    return make_task(hierarchy, spec.level, spec.subclasses, spec.split, spec.ancestor,  # type: ignore[arg-type]
                     spec.split_seed)


def cap_per_class(dataset: ImageDataset, limit: int, seed: int) -> ImageDataset:
    """At most `limit` images of each class, a seeded sample (in the dataset's order)."""
    rng = np.random.default_rng([seed, 17])
    labels = dataset.labels.numpy()
    keep = np.zeros(len(dataset), dtype=bool)
    for label in range(len(dataset.classes)):
        members = np.flatnonzero(labels == label)
        keep[rng.permutation(members)[:limit] if len(members) > limit else members] = True
    return dataset if keep.all() else dataset.subset(keep)


def make_splits(spec: BreedsStudySpec) -> StudySplits:
    """Load the data, make the task, and cut every subclass into training and test images."""
    task, dataset = load_task_and_data(spec)
    train, test = dataset.split(1.0 - spec.test_fraction, seed=spec.data.seed)
    source = {sc.wnid: list(sc.source) for sc in task.superclasses}
    target = {sc.wnid: list(sc.target) for sc in task.superclasses}
    return StudySplits(task, train.relabel(source), test.relabel(source), train.relabel(target), test.relabel(target))


def cached_splits(spec: BreedsStudySpec) -> StudySplits:
    """`make_splits(spec)`, remembered for the last spec (a run checks its data first, then the runner uses it)."""
    key = spec.key()
    if key not in _LAST:
        _LAST.clear()
        _LAST[key] = make_splits(spec)
    return _LAST[key]


def forget_splits() -> None:
    """Drop the remembered splits (their images can be large)."""
    _LAST.clear()


_LAST: dict[str, StudySplits] = {}


def variant_models(spec: BreedsStudySpec, splits: StudySplits, store: Store) -> dict[str, NamedNet]:
    """The baseline and each intervention's model (trained, or loaded from the store's checkpoints)."""
    from tony.vision.evaluate import retrain_last_layer
    from tony.vision.train import train

    train_set, classes = splits.source_train, len(splits.task.superclasses)
    models = {"baseline": train(baseline_spec(spec, splits.task), train_set.images, train_set.labels, store).model}
    if "last_layer" in spec.interventions:
        target = splits.target_train
        models["last_layer"] = retrain_last_layer(models["baseline"], target.images, target.labels,
                                                  epochs=spec.head_epochs, seed=spec.seed)
    if "strong_augmentation" in spec.interventions:
        strong = baseline_spec(spec, splits.task, augmentation="strong")
        models["strong_augmentation"] = train(strong, train_set.images, train_set.labels, store).model
    assert all(m.head.out_features == classes for m in models.values())
    return models


def baseline_spec(spec: BreedsStudySpec, task: Task, augmentation: str | None = None):
    """The training spec of the model trained on `task`'s source subclasses."""
    return spec.train_spec(len(task.superclasses), task=task.to_json(), augmentation=augmentation)
