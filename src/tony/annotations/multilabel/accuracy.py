"""Accuracy of predictions under the multi-label annotations, and the data set's own stats, from records.

A record is what the study stores per image (see `tony.annotations.multilabel.study`). Per model
and image, four metrics (None where the annotations cannot decide it):

- ``top1``: the top prediction is the benchmark label; ``top5``: the label is among the five;
- ``multilabel_top1``: the top prediction is a valid label of any object in the image (for ``easy``
  images, whose only confidently selected label is the benchmark label, that label; undefined for
  ``mis`` and ``amb`` images, whose objects nobody listed);
- ``main_top1``: the top prediction is the annotators' main label (``easy``: the benchmark label).

Every metric is reported over all scored images and broken down by first-stage outcome
(``first_stage:<outcome>``), number of objects (``objects:1``, ``2``, ``3``, ``4+``; ``easy`` images
count as one object) and the benchmark label's superclass (``superclass:<name>``), each a mean
with its 95% bootstrap interval.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

from tony.annotations.multilabel.aggregate import ImageSummary
from tony.annotations.multilabel.predictions import Prediction
from tony.annotations.multilabel.schema import FIRST_STAGE
from tony.core.stats import Stat, mean_stat, proportion_stat

METRICS = ("top1", "top5", "multilabel_top1", "main_top1")
EASY = "easy"
OTHER_SUPERCLASS = "other"
"""The superclass of a label that no group of superclasses.json holds."""


def objects_bucket(objects: int | None) -> str | None:
    """``1``, ``2``, ``3`` or ``4+`` (few images have more); None when unknown."""
    if objects is None:
        return None
    return str(objects) if objects < 4 else "4+"


def score(prediction: Prediction, category: str, summary: ImageSummary | None) -> dict[str, bool | None]:
    """The four metrics of one prediction of one image (module docstring)."""
    top, label = prediction.top5[0], prediction.label
    out: dict[str, bool | None] = {"top1": top == label, "top5": label in prediction.top5,
                                   "multilabel_top1": None, "main_top1": None}
    if summary is not None:
        out["multilabel_top1"] = top in summary.valid
        out["main_top1"] = top == summary.main
    elif category == EASY:
        out["multilabel_top1"] = out["main_top1"] = top == label
    return out


def image_objects(record: dict[str, Any]) -> int | None:
    """Number of objects of a record's image: aggregated for follow-up images, 1 for easy ones."""
    return record["objects"] if record["objects"] is not None else (1 if record["category"] == EASY else None)


def annotation_stats(records: list[dict[str, Any]], *, seed: int = 0) -> list[Stat]:
    """Stats of the annotations (split ""): counts, the objects histogram, the main label against the benchmark."""
    follow_up = [r for r in records if r["objects"] is not None]
    stats = [_count("images", len(follow_up)),
             _count("multi_object_images", sum(r["objects"] > 1 for r in follow_up)),
             _count("main_label_ties", sum(r["main_tied"] for r in follow_up)),
             proportion_stat("multi_object_fraction", [r["objects"] > 1 for r in follow_up], seed=seed),
             proportion_stat("main_label_is_benchmark_label", [r["main"] == r["label"] for r in follow_up], seed=seed),
             mean_stat("valid_labels_per_image", [len(r["valid"]) for r in follow_up], seed=seed)]
    buckets: dict[str, list[bool]] = defaultdict(list)
    for r in follow_up:
        buckets[objects_bucket(r["objects"]) or ""].append(r["main"] == r["label"])
    stats += [proportion_stat("main_label_is_benchmark_label", v, seed=seed, subgroup=f"objects:{k}")
              for k, v in sorted(buckets.items())]
    sizes = sorted({r["objects"] for r in follow_up})
    stats += [proportion_stat("objects_per_image", [r["objects"] == k for r in follow_up], seed=seed,
                        subgroup=f"objects:{k}") for k in sizes]
    stage = Counter(r["category"] for r in records)
    stats += [Stat("first_stage_images", stage[c], stage[c], stage[c], len(records), subgroup=f"first_stage:{c}")
              for c in FIRST_STAGE]
    return stats


def model_stats(records: list[dict[str, Any]], model: str, *, seed: int = 0) -> list[Stat]:
    """The four metrics of `model` (split = its name): overall and per first stage, objects and superclass."""
    scored = [r for r in records if model in r["models"]]
    stats: list[Stat] = []
    for metric in METRICS:
        groups: dict[str, list[bool]] = defaultdict(list)
        for r in scored:
            value = r["models"][model][metric]
            if value is None:
                continue
            bucket = objects_bucket(image_objects(r))
            keys = ["", f"first_stage:{r['category']}", f"superclass:{r['superclass'] or OTHER_SUPERCLASS}"]
            for key in keys + ([f"objects:{bucket}"] if bucket else []):
                groups[key].append(value)
        stats += [proportion_stat(metric, values, seed=seed, split=model, subgroup=key)
                  for key, values in sorted(groups.items())]
    return stats


def _count(name: str, value: int) -> Stat:
    """An exact count: no sampling, so its interval is the value itself."""
    return Stat(name, float(value), float(value), float(value), value)


def stat_value(stats: list[Stat], name: str, split: str = "", subgroup: str = "") -> float:
    """The value of one stat (NaN when absent)."""
    return next((s.value for s in stats if (s.name, s.split, s.subgroup) == (name, split, subgroup)), math.nan)
