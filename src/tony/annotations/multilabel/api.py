"""The multi-label study from Python; `tony annotations multilabel` is a thin layer over these functions.

    from tony.annotations.multilabel import api
    data = api.load("../shared/data/imagenet-multilabel")
    images = api.summaries(data)                       # per image: frequencies, objects, main label, groups
    result = api.analyze("../shared/data/imagenet-multilabel", {"resnet50": "preds.jsonl"}, store="tony-results")
    api.summary(result.stats)["main_label_is_benchmark_label"]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tony.annotations.multilabel.accuracy import METRICS, stat_value
from tony.annotations.multilabel.aggregate import (
    CO_SELECTION_THRESHOLD,
    MIN_SELECTION,
    DatasetStats,
    ImageSummary,
    dataset_stats,
    summarize,
)
from tony.annotations.multilabel.schema import MultilabelData, load_dataset
from tony.core.errors import TonyError
from tony.core.runner import RunResult
from tony.core.stats import Stat


def load(directory: str | Path) -> MultilabelData:
    """A data set folder in the documented schema (`tony.annotations.multilabel.schema`)."""
    return load_dataset(directory)


def summaries(data: MultilabelData, *, min_selection: float = MIN_SELECTION,
              co_selection_threshold: float = CO_SELECTION_THRESHOLD) -> list[ImageSummary]:
    """Every annotated image aggregated (`tony.annotations.multilabel.aggregate`)."""
    return [summarize(i, min_selection=min_selection, co_selection_threshold=co_selection_threshold)
            for i in data.images]


def statistics(data: MultilabelData, images: Sequence[ImageSummary] | None = None) -> DatasetStats:
    """Counts over the data set: images, multi-object images, main label against the benchmark label."""
    return dataset_stats(list(images if images is not None else summaries(data)), data.categories)


def analyze(data: str | Path, predictions: Mapping[str, str | Path] | None = None, store: str | None = None, *,
            min_selection: float = MIN_SELECTION, co_selection_threshold: float = CO_SELECTION_THRESHOLD,
            seed: int = 0, batch_size: int = 1000) -> RunResult:
    """Aggregate the data set and score each model's predictions (name -> file) through the kernel's runner.

    Every file is read and checked before the run starts, so bad input raises a `DataError` (exit 2 in
    the CLI) instead of leaving a failed run; an identical earlier run is reused from the store.
    """
    from tony.annotations.multilabel.study import MultilabelSpec
    from tony.core.runner import execute
    from tony.core.store import Store

    spec = MultilabelSpec.parse({
        "data": str(data), "predictions": [{"name": n, "path": str(p)} for n, p in (predictions or {}).items()],
        "min_selection": min_selection, "co_selection_threshold": co_selection_threshold, "seed": seed})
    opened = Store(store)
    task = spec.task(opened, loaded=load_dataset(spec.data))
    task.predictions()
    result = execute(task, opened, batch_size=batch_size)
    if result.status != "complete":
        raise TonyError(f"the multi-label run {result.run_id[:12]} failed: {result.error}")
    return result


def summary(stats: Sequence[Stat]) -> dict[str, Any]:
    """The run's stats as one JSON-friendly object: data set counts, objects histogram, accuracy per model."""
    stats = list(stats)
    images = int(stat_value(stats, "images"))
    main = _find(stats, "main_label_is_benchmark_label")
    out: dict[str, Any] = {
        "images": images,
        "multi_object_images": int(stat_value(stats, "multi_object_images")),
        "main_label_is_benchmark_label": main.value if main else None,
        "main_label_is_benchmark_label_ci": [main.ci_low, main.ci_high] if main else None,
        "main_label_ties": int(stat_value(stats, "main_label_ties")),
        "objects_per_image": {s.subgroup.removeprefix("objects:"): round(s.value * s.n) for s in stats
                              if s.name == "objects_per_image"},
        "first_stage": {s.subgroup.removeprefix("first_stage:"): int(s.value) for s in stats
                        if s.name == "first_stage_images"},
        "accuracy": {},
    }
    for s in stats:
        if s.split and s.name in METRICS:
            out["accuracy"].setdefault(s.split, {}).setdefault(s.subgroup or "all", {})[s.name] = {
                "value": s.value, "ci_low": s.ci_low, "ci_high": s.ci_high, "n": s.n}
    return out


def _find(stats: Sequence[Stat], name: str, split: str = "", subgroup: str = "") -> Stat | None:
    return next((s for s in stats if (s.name, s.split, s.subgroup) == (name, split, subgroup)), None)
