"""The vulnerability table: which texture swaps on which concepts hurt the unedited model most.

For every concept and style, the test images with the concept are transformed and classified by each
model seed; the stats, per concept (the split) and style (the subgroup), pooled over seeds with 95%
bootstrap intervals over images: ``broken_fraction`` (of the images with the concept the model gets right,
the fraction the transformation makes wrong: the errors an edit would have to correct) and
``transformed_accuracy``. The models are the editing study's (same data and training spec, same checkpoints).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field, model_validator

from tony.core.errors import SpecError
from tony.core.runner import RunResult
from tony.core.spec import RunnableSpec
from tony.core.stats import Stat, proportion_stat
from tony.core.store import Store
from tony.vision.data import textures
from tony.vision.editing.spec import EditData, EditStudySpec, EditTraining

SWEEP_KIND = "editing-sweep"


class EditSweepSpec(RunnableSpec):
    """Every concept x style swap on the test images, before any edit."""

    data: EditData = EditData()
    """The images and classes (as in the editing study)."""
    train: EditTraining = EditTraining()
    """How the models are trained (as in the editing study: the same checkpoints)."""
    concepts: tuple[str, ...] | None = None
    """Default: every region of the dataset (world: foreground, background; fashion-mnist: garment, background)."""
    styles: tuple[str, ...] = textures.NAMES
    """The textures swapped in."""
    seeds: int = Field(1, ge=1)
    """Models (seeds 0 .. seeds-1)."""
    seed: int = 0
    """Seeds the bootstrap."""

    @model_validator(mode="after")
    def _check(self) -> EditSweepSpec:
        if not self.styles or not self.concept_names:
            raise SpecError("give at least one concept and one style")
        for concept in self.concept_names:
            for style in self.styles:
                self.study(concept, style)  # each pair is checked as an editing study would check it
        return self

    @property
    def concept_names(self) -> tuple[str, ...]:
        from tony.vision.editing.concept import FASHION_REGIONS, WORLD_REGIONS

        if self.concepts is not None:
            return self.concepts
        return WORLD_REGIONS if self.data.dataset == "world" else FASHION_REGIONS

    def study(self, concept: str, style: str) -> EditStudySpec:
        """The editing study of one cell (its models and images are the sweep's)."""
        return EditStudySpec(data=self.data, train=self.train, concept=concept, style=style, seeds=self.seeds)

    def describe(self) -> str:
        return f"{self.data.dataset} vulnerability: {len(self.concept_names)} concepts x {len(self.styles)} styles"

    def task(self, store: Store) -> SweepTask:
        return SweepTask(self, store)


class SweepTask:
    """The runner's view of an `EditSweepSpec`: one item per (concept, style)."""

    kind = SWEEP_KIND

    def __init__(self, spec: EditSweepSpec, store: Store) -> None:
        self.spec, self.store = spec, store

    def labels(self) -> dict[str, Any]:
        spec = self.spec
        return {"dataset": spec.data.dataset, "model": f"{spec.train.model} w{spec.train.width}",
                "seeds": spec.seeds}

    def items(self) -> list[str]:
        return [f"{concept}>{style}" for concept in self.spec.concept_names for style in self.spec.styles]

    def process(self, item_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
        from tony.vision.editing.study import EditTask

        records = []
        for item in item_ids:
            concept, _, style = item.partition(">")
            task = EditTask(self.spec.study(concept, style), self.store)
            counts = {"concept": 0, "concept_clean_correct": 0, "transformed_correct": 0, "errors": 0}
            for seed in range(self.spec.seeds):
                baseline = task.seed_model(seed).baseline
                counts["concept"] += int(baseline.concept.sum())
                counts["concept_clean_correct"] += int((baseline.concept & baseline.clean_correct).sum())
                counts["transformed_correct"] += int((baseline.concept & baseline.transformed_correct).sum())
                counts["errors"] += int(baseline.errors.sum())
            task.close()
            records.append((item, {"concept": concept, "style": style, "counts": counts}))
        return records

    def aggregate(self, records: list[dict[str, Any]]) -> list[Stat]:
        stats = []
        for record in records:
            where: dict[str, Any] = {"split": record["concept"], "subgroup": record["style"], "seed": self.spec.seed}
            counts = record["counts"]
            broken = _flags(counts["errors"], counts["concept_clean_correct"])
            stats.append(proportion_stat("broken_fraction", broken, **where))
            right = _flags(counts["transformed_correct"], counts["concept"])
            stats.append(proportion_stat("transformed_accuracy", right, **where))
        return stats

    def close(self) -> None:
        pass


def _flags(hits: int, n: int) -> list[bool]:
    return [True] * hits + [False] * (n - hits)


def vulnerability_table(stats: list[Stat]) -> dict[str, dict[str, Stat]]:
    """concept -> style -> broken_fraction, styles from most to least harmful."""
    table: dict[str, dict[str, Stat]] = {}
    for stat in stats:
        if stat.name == "broken_fraction":
            table.setdefault(stat.split, {})[stat.subgroup] = stat
    return {c: dict(sorted(row.items(), key=lambda kv: -np.nan_to_num(kv[1].value))) for c, row in table.items()}


def run_sweep(spec: EditSweepSpec, store: str | None = None) -> RunResult:
    """Run the sweep through the kernel's runner (models trained, or loaded, on first use)."""
    from tony.core.executors import run_local

    return next(run_local([spec], store, batch_size=1))
