"""The BREEDS study: train on source subclasses, test on held-out source images and on target subclasses.

A `BreedsStudySpec` names a dataset (the generated world by default, Fashion-MNIST, or an ImageNet
folder with a BREEDS hierarchy), a BREEDS task on its hierarchy (a level or a published benchmark, the
subclasses per superclass, the rand/good/bad split and its seed), the training settings and the
interventions. Running it (through the kernel's runner, like every study):

1. every subclass's images are split, seeded, into a training part and a test part (`test_fraction`);
2. ``baseline``: a model is trained on the training images of the source subclasses, labelled by
   superclass (a `VisionTrainSpec`, checkpointed in the store and resumable);
3. ``last_layer``: the baseline with only its last layer retrained on the training images of the
   target subclasses (frozen features): how much of the shift better features would need to fix;
4. ``strong_augmentation``: the baseline's recipe with the ``strong`` augmentation policy;
5. every variant predicts every test image (the run's items: ``source-00042``, ``target-00017``).

Stats, per variant (the split: baseline, last_layer, strong_augmentation), each with n and a 95%
bootstrap interval: ``source_accuracy``, ``target_accuracy``, ``gap`` (source minus target, one
bootstrap over both samples), ``subclass_accuracy`` per subclass (the subgroup), and for the
interventions ``target_gain`` and ``source_gain``: the paired difference from the baseline on the
same test images (paired bootstrap).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import model_validator

from tony.core.errors import SpecError
from tony.core.runner import RunResult
from tony.core.spec import RunnableSpec, Spec
from tony.core.stats import Stat, bootstrap_ci, mean_stat, paired_bootstrap
from tony.core.store import Store
from tony.vision.breeds.splits import PUBLISHED_SEED
from tony.vision.data.dataset import image_shape
from tony.vision.data.world import ShapeWorld

KIND = "breeds"
VARIANTS = ("baseline", "last_layer", "strong_augmentation")
INTERVENTIONS = VARIANTS[1:]
SOURCE, TARGET = "source", "target"
DEFAULT_LEVEL = 1
"""Superclasses' level without a benchmark: the world's shape families, Fashion-MNIST's garment groups."""


class BreedsData(Spec):
    """Where the images and their class hierarchy come from."""

    dataset: Literal["world", "fashion-mnist", "imagenet"] = "world"
    path: str | None = None
    """fashion-mnist: the idx folder (default Debian's); imagenet: the folder with one folder per wnid."""
    hierarchy: str | None = None
    """imagenet: the BREEDS hierarchy folder (class_hierarchy.txt, dataset_class_info.json, node_names.txt)."""
    world: ShapeWorld = ShapeWorld()
    """The generated world's rendering settings."""
    images_per_class: int = 400
    """world: images generated per subclass; real data: at most this many per subclass (a seeded sample)."""
    image_size: int = 32
    """imagenet: the side images are resized to (the world's is `world.size`, Fashion-MNIST's is 28)."""
    seed: int = 0
    """Seeds the world's images, the sampling of real data, and the train/test split of every subclass."""

    @property
    def shape(self) -> tuple[int, int]:
        """(channels, side) of the images."""
        return image_shape(self.dataset, self.world.size, self.image_size)


class Training(Spec):
    """How every model of the study is trained (see `tony.vision.train.VisionTrainSpec`). The defaults fit the
    generated world on 2 CPU cores: a narrow ResNet-8, Adam with a cosine schedule, 20 epochs."""

    model: str = "resnet8"
    width: int = 8
    optimizer: Literal["sgd", "adam"] = "adam"
    lr: float = 0.003
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: Literal["constant", "step", "cosine"] = "cosine"
    epochs: int = 20
    batch_size: int = 128
    augmentation: str = "standard"
    """The baseline's policy; the strong_augmentation intervention uses ``strong``."""
    seed: int = 0


class BreedsStudySpec(RunnableSpec):
    """One BREEDS task on one dataset: the baseline and the interventions."""

    data: BreedsData = BreedsData()
    benchmark: str | None = None
    """A published ImageNet benchmark (entity13, entity30, living17, nonliving26) instead of `level`."""
    level: int | None = None
    """The superclasses' level (without a benchmark, default 1: the world's shape families, Fashion-MNIST's
    garment groups)."""
    ancestor: str | None = None
    subclasses: int | None = None
    """Subclasses per superclass, half source and half target; default: the published rule (smallest even)."""
    split: Literal["rand", "good", "bad"] = "rand"
    split_seed: int = PUBLISHED_SEED
    """Seeds the rand split (2, the published benchmarks' seed, by default)."""
    train: Training = Training()
    interventions: tuple[str, ...] = INTERVENTIONS
    test_fraction: float = 0.25
    """Of every subclass's images, the fraction held out for testing."""
    head_epochs: int = 60
    """Epochs of the last-layer retraining (Adam on frozen features)."""
    seed: int = 0
    """Seeds the last-layer retraining and the bootstrap."""

    @model_validator(mode="before")
    @classmethod
    def _default_level(cls, data: Any) -> Any:
        """Resolve the default level into the spec, so equal work has one key."""
        if isinstance(data, dict) and data.get("benchmark") is None and data.get("level") is None:
            data = {**data, "level": DEFAULT_LEVEL}
        return data

    @model_validator(mode="after")
    def _check(self) -> BreedsStudySpec:
        unknown = [i for i in self.interventions if i not in INTERVENTIONS]
        if unknown:
            raise SpecError(f"unknown intervention '{unknown[0]}': choose from {', '.join(INTERVENTIONS)}")
        if not 0.0 < self.test_fraction < 1.0:
            raise SpecError(f"test_fraction must be between 0 and 1, got {self.test_fraction}")
        per_class = self.data.images_per_class
        if per_class < 2 or round(per_class * self.test_fraction) < 1 or round(per_class * self.test_fraction) >= \
                per_class:
            raise SpecError(f"{per_class} images per subclass with test_fraction {self.test_fraction} leaves no "
                            "training or no test image: use more images per subclass")
        if self.benchmark is not None and self.level is not None:
            raise SpecError(f"benchmark {self.benchmark} fixes its level: give a benchmark or a level, not both")
        if self.benchmark is not None and self.data.dataset != "imagenet":
            raise SpecError(f"benchmark {self.benchmark} is defined on the ImageNet hierarchy: use --dataset imagenet "
                            "or give a level instead")
        if self.data.dataset == "imagenet" and not (self.data.path and self.data.hierarchy):
            raise SpecError("an ImageNet study needs the image folder (--data DIR, one folder per wnid) and the BREEDS "
                            "hierarchy files (--hierarchy DIR)")
        if self.head_epochs < 1:
            raise SpecError(f"head_epochs must be at least 1, got {self.head_epochs}")
        self.train_spec(num_classes=2)  # an unknown model, policy or impossible size fails now
        return self

    def train_spec(self, num_classes: int, *, task: dict[str, Any] | None = None, augmentation: str | None = None):
        """The `VisionTrainSpec` of a model of this study, trained on the source subclasses of `task`."""
        from tony.vision.train import VisionTrainSpec

        channels, side = self.data.shape
        data = {"breeds": self.data.model_dump(mode="json"), "task": task, "test_fraction": self.test_fraction,
                "role": "source-train"}
        fields = self.train.model_dump()
        fields["augmentation"] = augmentation or fields["augmentation"]
        return VisionTrainSpec.parse({**fields, "num_classes": num_classes, "in_channels": channels,
                                      "image_size": side, "data": data})

    def describe(self) -> str:
        where = self.benchmark or f"level {self.level}"
        return f"{self.data.dataset} {where} {self.split}"

    def task(self, store: Store) -> BreedsTask:
        return BreedsTask(self, store)


class BreedsTask:
    """The runner's view of a `BreedsStudySpec` (the `tony.core.runner.Task` protocol)."""

    kind = KIND

    def __init__(self, spec: BreedsStudySpec, store: Store) -> None:
        self.spec, self.store = spec, store
        self._splits: Any = None
        self._predictions: dict[str, dict[str, np.ndarray]] | None = None

    @property
    def splits(self):
        from tony.vision.breeds.study_data import cached_splits

        if self._splits is None:
            self._splits = cached_splits(self.spec)
        return self._splits

    def labels(self) -> dict[str, Any]:
        spec = self.spec
        return {"dataset": spec.data.dataset, "benchmark": spec.benchmark or f"level {spec.level}",
                "split": spec.split, "model": f"{spec.train.model} w{spec.train.width}",
                "epochs": spec.train.epochs}

    def items(self) -> list[str]:
        return ([f"{SOURCE}-{i:05d}" for i in range(len(self.splits.source_test))]
                + [f"{TARGET}-{i:05d}" for i in range(len(self.splits.target_test))])

    def process(self, item_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
        predictions = self.predictions()
        records = []
        for item in item_ids:
            side, _, index = item.partition("-")
            row = int(index)
            data = self.splits.source_test if side == SOURCE else self.splits.target_test
            label = int(data.labels[row])
            records.append((item, {"side": side, "label": label, "superclass": data.classes[label],
                                   "subclass": str(data.attributes["subclass"][row]),
                                   "predictions": {v: int(p[side][row]) for v, p in predictions.items()}}))
        return records

    def predictions(self) -> dict[str, dict[str, np.ndarray]]:
        """Per variant, its predicted superclass for every source and target test image (trained on first use)."""
        if self._predictions is None:
            from tony.vision.breeds.study_data import variant_models
            from tony.vision.evaluate import predict

            splits = self.splits
            self._predictions = {
                name: {SOURCE: predict(model, splits.source_test.images).argmax(1).numpy(),
                       TARGET: predict(model, splits.target_test.images).argmax(1).numpy()}
                for name, model in variant_models(self.spec, splits, self.store).items()}
        return self._predictions

    def aggregate(self, records: list[dict[str, Any]]) -> list[Stat]:
        return aggregate(records, self.spec.seed)

    def close(self) -> None:
        self._splits, self._predictions = None, None


def _gap(sample: np.ndarray) -> np.ndarray:
    """Source accuracy minus target accuracy of resampled (correct, is_target) rows: (R, n, 2) -> (R,)."""
    correct, target = sample[..., 0], sample[..., 1]
    source_n, target_n = np.maximum((1 - target).sum(1), 1), np.maximum(target.sum(1), 1)
    return (correct * (1 - target)).sum(1) / source_n - (correct * target).sum(1) / target_n


def aggregate(records: list[dict[str, Any]], seed: int) -> list[Stat]:
    """The study's stats from its records (see the module's docstring)."""
    records = sorted(records, key=lambda r: r["item_id"])
    side = np.array([r["side"] for r in records])
    labels = np.array([r["label"] for r in records])
    subclass = np.array([r["subclass"] for r in records])
    is_target = (side == TARGET).astype(float)
    correct = {v: np.array([r["predictions"][v] for r in records]) == labels
               for v in VARIANTS if v in records[0]["predictions"]}
    stats: list[Stat] = []
    for variant, hits in correct.items():
        values = hits.astype(float)
        stats.append(mean_stat("source_accuracy", values[side == SOURCE], seed=seed, split=variant))
        stats.append(mean_stat("target_accuracy", values[side == TARGET], seed=seed, split=variant))
        rows = np.stack([values, is_target], axis=1)
        low, high = bootstrap_ci(rows, _gap, seed=seed)
        stats.append(Stat("gap", float(_gap(rows[None])[0]), low, high, len(rows), variant))
        for name in np.unique(subclass):
            picked = subclass == name
            group = SOURCE if side[picked][0] == SOURCE else TARGET
            stats.append(mean_stat("subclass_accuracy", values[picked], seed=seed, split=variant,
                                   subgroup=f"{group}:{name}"))
        if variant != "baseline":
            base = correct["baseline"].astype(float)
            for which in (SOURCE, TARGET):
                picked = side == which
                diff, low, high, _ = paired_bootstrap(values[picked], base[picked], seed=seed)
                stats.append(Stat(f"{which}_gain", diff, low, high, int(picked.sum()), variant))
    return stats


def run_study(spec: BreedsStudySpec, store: str | None = None, *, batch_size: int = 500, executor: str = "local",
              workers: int = 1, ray_address: str | None = None) -> RunResult:
    """Run the study through the kernel's runner (its models are trained, or resumed, on first use), here or as
    a Ray task (`executor="ray"`, `tony.core.executors.run_specs`)."""
    from tony.core.executors import run_specs
    from tony.vision.breeds.study_data import cached_splits, forget_splits

    try:
        cached_splits(spec)  # bad data (a missing folder, an unknown class) is reported here, not as a failed run
        return next(run_specs([spec], store, executor=executor, workers=workers, batch_size=batch_size,
                              ray_address=ray_address))
    finally:
        forget_splits()  # the next call reads the data again: a folder may have changed in between
