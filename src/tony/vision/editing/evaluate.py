"""The paper's evaluation of an edit, and the study's stats.

For a concept and a transformation, the images that count are the test images with the concept that the
unedited model classifies right as they are and wrong once transformed (`Baseline.errors`). An edit
corrects such an image if the edited model classifies its transformed version right. Per edit
(one model seed, one exemplar draw, one method) a record keeps the corrected counts on the exemplars'
class and on the other classes, and the clean test accuracy per class before and after. The stats,
per method (the split), each a mean over edits with a 95% bootstrap interval over edits (n = edits):

- ``corrected_exemplar_class``, ``corrected_other_classes``: fraction of the errors corrected (generalization
  is the second);
- ``clean_accuracy_drop``: clean test accuracy before minus after, overall and per class (subgroup);
- ``exemplars_fixed``: the edits after which every transformed exemplar is classified right.

The unedited models (split ``unedited``, pooled over seeds): ``clean_accuracy``, ``transformed_accuracy``
(images with the concept, transformed) and ``broken_fraction`` (of the images with the concept it got right,
the fraction the transformation makes wrong), with bootstrap intervals over images.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tony.core.stats import Stat, mean_stat, paired_bootstrap, proportion_stat

UNEDITED = "unedited"


@dataclass(frozen=True)
class Baseline:
    """What the unedited model does on the test images."""

    labels: np.ndarray
    """[N] true labels."""
    concept: np.ndarray
    """[N] bool: the images with the concept."""
    clean_correct: np.ndarray
    """[N] bool: right on the image as it is."""
    transformed_correct: np.ndarray
    """[N] bool: right on the image with the concept transformed (False where there is no concept)."""

    @property
    def errors(self) -> np.ndarray:
        """[N] bool: the images the transformation makes the model get wrong, which an edit should correct."""
        return self.concept & self.clean_correct & ~self.transformed_correct


def class_counts(correct: np.ndarray, labels: np.ndarray, classes: Sequence[str]) -> dict[str, list[int]]:
    """class -> [right, images] over the images of each class."""
    return {name: [int(correct[labels == k].sum()), int((labels == k).sum())] for k, name in enumerate(classes)}


def edit_record(baseline: Baseline, exemplar_label: int, clean_predictions: np.ndarray,
                error_predictions: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """The counts of one edit: `clean_predictions` [N] on the clean test images and `error_predictions` on the
    transformed versions of `baseline.errors` (in their order), both by the edited model."""
    labels = baseline.labels[baseline.errors]
    corrected = error_predictions == labels
    own = labels == exemplar_label
    return {
        "corrected_exemplar_class": [int(corrected[own].sum()), int(own.sum())],
        "corrected_other_classes": [int(corrected[~own].sum()), int((~own).sum())],
        "clean_before": class_counts(baseline.clean_correct, baseline.labels, classes),
        "clean_after": class_counts(clean_predictions == baseline.labels, baseline.labels, classes),
        "unedited": {"concept": int(baseline.concept.sum()),
                     "concept_clean_correct": int((baseline.concept & baseline.clean_correct).sum()),
                     "transformed_correct": int((baseline.concept & baseline.transformed_correct).sum()),
                     "errors": int(baseline.errors.sum())},
    }


def _fraction(counts: Sequence[int]) -> float:
    return counts[0] / counts[1] if counts[1] else math.nan


def _accuracy(per_class: dict[str, list[int]], name: str | None = None) -> float:
    rows = [per_class[name]] if name is not None else list(per_class.values())
    return sum(r[0] for r in rows) / max(1, sum(r[1] for r in rows))


def edit_values(record: dict[str, Any]) -> dict[str, float]:
    """One edit's numbers: corrected fractions (nan without errors of that kind), clean accuracy drop, exemplars."""
    return {"corrected_exemplar_class": _fraction(record["corrected_exemplar_class"]),
            "corrected_other_classes": _fraction(record["corrected_other_classes"]),
            "clean_accuracy_drop": _accuracy(record["clean_before"]) - _accuracy(record["clean_after"]),
            "exemplars_fixed": float(record["exemplars_fixed"])}


def _finite(values: list[float]) -> list[float]:
    return [v for v in values if not math.isnan(v)]


def aggregate(records: list[dict[str, Any]], seed: int) -> list[Stat]:
    """The study's stats from its records (see the module's docstring)."""
    stats: list[Stat] = []
    methods = list(dict.fromkeys(r["method"] for r in records))
    for method in methods:
        mine = [r for r in records if r["method"] == method]
        values = [edit_values(r) for r in mine]
        for name in ("corrected_exemplar_class", "corrected_other_classes", "clean_accuracy_drop", "exemplars_fixed"):
            stats.append(mean_stat(name, _finite([v[name] for v in values]), seed=seed, split=method))
        for cls in mine[0]["clean_before"]:
            drops = [_accuracy(r["clean_before"], cls) - _accuracy(r["clean_after"], cls) for r in mine]
            stats.append(mean_stat("clean_accuracy_drop", drops, seed=seed, split=method, subgroup=cls))
    first_per_seed = {r["seed"]: r for r in records}.values()
    pooled = {key: sum(r["unedited"][key] for r in first_per_seed) for key in next(iter(first_per_seed))["unedited"]}
    clean = [sum(r["clean_before"][c][0] for r in first_per_seed) for c in records[0]["clean_before"]]
    images = [sum(r["clean_before"][c][1] for r in first_per_seed) for c in records[0]["clean_before"]]
    for name, right, n in (("clean_accuracy", sum(clean), sum(images)),
                           ("transformed_accuracy", pooled["transformed_correct"], pooled["concept"]),
                           ("broken_fraction", pooled["errors"], pooled["concept_clean_correct"])):
        stats.append(proportion_stat(name, [True] * right + [False] * (n - right), seed=seed, split=UNEDITED))
    return stats


def paired_differences(records: list[dict[str, Any]], method: str, baseline: str, name: str,
                       seed: int = 0) -> tuple[float, float, float, int]:
    """`method` minus `baseline` on the edit value `name`, paired by (seed, draw), with a paired bootstrap interval:
    (difference, low, high, n pairs); pairs where either value is nan are left out."""
    by_draw = {(r["seed"], r["draw"], r["method"]): edit_values(r)[name] for r in records}
    pairs = [(v, by_draw[(s, d, baseline)]) for (s, d, m), v in by_draw.items()
             if m == method and (s, d, baseline) in by_draw]
    pairs = [(a, b) for a, b in pairs if not (math.isnan(a) or math.isnan(b))]
    if not pairs:
        return math.nan, math.nan, math.nan, 0
    a, b = np.array(pairs).T
    difference, low, high, _ = paired_bootstrap(a, b, seed=seed)
    return difference, low, high, len(pairs)
