"""A replication study through the kernel's runner: one record per model, stats per model with intervals.

Items are the models of the predictions file. The frequency mixtures (and their bootstrap replicates)
are shared by every model, fitted once per task; each model's record holds its raw accuracies, the three
estimates of its bias-corrected accuracy A and gap, each with a 95% bootstrap interval, and its fitted
P(correct | s). Stats (split = the model): ``accuracy_original``, ``accuracy_replicated``,
``corrected_{naive,jackknife,parametric}`` (A) and ``gap_{raw,naive,jackknife,parametric}``; with split
"" and subgroup original / replicated, ``mean_frequency`` (the fitted mixtures' mean s).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from tony.core.errors import SpecError
from tony.core.spec import RunnableSpec
from tony.core.stats import Stat
from tony.core.store import Store

KIND = "annotations-replication"
METHODS = ("naive", "jackknife", "parametric")
CURVE_POINTS = np.linspace(0.0, 1.0, 21)
"""Where each model's fitted P(correct | s) is kept."""


class ReplicationSpec(RunnableSpec):
    """Estimate every model's bias-corrected accuracy gap from an annotations file and a predictions file."""

    annotations: str
    """Path of the annotations CSV (`tony.annotations.replication.io`)."""
    predictions: str
    """Path of the predictions CSV."""
    content: str
    """SHA-256 of both files' bytes: edited files are new work, never stale results."""
    annotators: int = Field(ge=2)
    """m: every image is thinned to this many annotators (at most the smallest count in the file)."""
    delete: int = Field(ge=1)
    """d of the delete-d jackknife (below `annotators`)."""
    components: int = Field(3, ge=1, le=8)
    """Beta components of each frequency mixture."""
    knots: int = Field(6, ge=1, le=20)
    """I-spline basis functions of P(correct | s)."""
    resamples: int = Field(200, ge=20)
    """Bootstrap replicates behind every interval."""
    seed: int = 0

    def task(self, store: Store) -> ReplicationTask:
        if self.delete >= self.annotators:
            raise SpecError(f"delete = {self.delete} must be below annotators = {self.annotators}")
        return ReplicationTask(self)


class ReplicationTask:
    """The runner's view of a `ReplicationSpec` (the `tony.core.runner.Task` protocol)."""

    kind = KIND

    def __init__(self, spec: ReplicationSpec) -> None:
        self.spec = spec

    @cached_property
    def data(self):
        from tony.annotations.replication.io import read_study

        data = read_study(self.spec.annotations, self.spec.predictions)
        smallest = int(min(data.original.n.min(), data.replicated.n.min()))
        if self.spec.annotators > smallest:
            raise SpecError(f"annotators = {self.spec.annotators} exceeds the fewest annotators of any image "
                            f"({smallest}); use at most {smallest}")
        return data

    @cached_property
    def cells(self):
        return self.data.cells()

    @cached_property
    def fits(self):
        from tony.annotations.replication.estimators import fit_frequencies

        return fit_frequencies(self.data, self.cells, components=self.spec.components,
                               resamples=self.spec.resamples, seed=self.spec.seed)

    def labels(self) -> dict[str, Any]:
        return {"scenario": "replication", "data": Path(self.spec.annotations).parent.name or self.spec.annotations,
                "models": len(self.items())}

    def items(self) -> list[str]:
        return list(self.data.models)

    def process(self, item_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
        from tony.annotations.replication.estimators import bootstrap_levels, interval, parametric

        spec, data = self.spec, self.data
        models = [data.models.index(item) for item in item_ids]
        shared = parametric(data, self.cells, self.fits, models, knots=spec.knots, curve_points=CURVE_POINTS)
        means = {name: interval(v[0], v[1:]) for name, v in
                 (("original", self.fits.original.mean()), ("replicated", self.fits.replicated.mean()))}
        records = []
        for column, (item, model) in enumerate(zip(item_ids, models, strict=True)):
            values = bootstrap_levels(data, self.cells, model, spec.annotators, spec.delete,
                                      resamples=spec.resamples, seed=spec.seed)
            for name in ("parametric", "gap_parametric"):
                values[name] = interval(shared[name][0, column], shared[name][1:, column])
            records.append((item, {
                "model": item,
                "estimates": {name: [e.value, e.low, e.high] for name, e in values.items()},
                "curve": [float(v) for v in shared["curve"][column]],
                "mean_frequency": {name: [e.value, e.low, e.high] for name, e in means.items()},
                "images": [data.original.size, data.replicated.size],
            }))
        return records

    def aggregate(self, records: list[dict[str, Any]]) -> list[Stat]:
        stats = []
        for record in records:
            n_orig, n_rep = record["images"]
            found = record["estimates"]
            rows = [("accuracy_original", "accuracy_original", n_orig),
                    ("accuracy_replicated", "accuracy_replicated", n_rep),
                    *((f"corrected_{m}", m, n_orig + n_rep) for m in METHODS),
                    *((f"gap_{m}", f"gap_{m}", n_orig + n_rep) for m in ("raw", *METHODS))]
            for name, key, n in rows:
                value, low, high = found[key]
                stats.append(Stat(name, value, low, high, n, split=record["model"]))
        if records:
            n_orig, n_rep = records[0]["images"]
            for (name, (value, low, high)), n in zip(records[0]["mean_frequency"].items(), (n_orig, n_rep),
                                                     strict=True):
                stats.append(Stat("mean_frequency", value, low, high, n, subgroup=name))
        return stats

    def close(self) -> None:
        pass
