"""The multi-label study through the kernel's runner: one run per (data set, predictions, rules).

A `MultilabelSpec` names the data folder and the prediction files by path and by content hash, so a
changed file is a new run and an unchanged one is never run twice. The task's items are the images of
the study (every image of the first stage); each record keeps the image's aggregate (selection
frequencies, objects, main label, groups) and each model's top five with the metrics it earns. Stats:
`tony.annotations.multilabel.accuracy.annotation_stats` (split "") and `model_stats` (split = model name).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from tony.annotations.multilabel.aggregate import CO_SELECTION_THRESHOLD, MIN_SELECTION, summarize
from tony.annotations.multilabel.schema import (
    ANNOTATIONS_FILE,
    CATEGORIES_FILE,
    CLASSES_FILE,
    SUPERCLASSES_FILE,
    ImageAnnotations,
    MultilabelData,
    load_dataset,
)
from tony.core.errors import DataError, SpecError
from tony.core.spec import RunnableSpec, Spec
from tony.core.stats import Stat
from tony.core.store import Store

KIND = "annotations-multilabel"
DATA_FILES = (ANNOTATIONS_FILE, CATEGORIES_FILE, CLASSES_FILE, SUPERCLASSES_FILE)


def files_digest(*paths: Path) -> str:
    """SHA-256 over the named files' names and bytes (a missing optional file counts as absent).

    Not `tony.core.files.file_digest` (one file's bytes alone): the names count here, and the digest is a field
    of the specs that key stored runs, so it must stay this function."""
    digest = hashlib.sha256()
    for path in paths:
        if path.is_file():
            digest.update(path.name.encode() + b"\0")
            try:
                digest.update(path.read_bytes())
            except OSError as err:
                raise DataError(f"cannot read {path}: {err.strerror or err}") from None
    return digest.hexdigest()


class ModelPredictions(Spec):
    """One model's predictions file."""

    name: str = Field(min_length=1, max_length=100)
    """The model's name (the stats' split)."""
    path: str
    digest: str = ""
    """SHA-256 of the file (filled in from the file when empty)."""

    @model_validator(mode="before")
    @classmethod
    def _fill_digest(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("path"), str | Path):
            path = Path(data["path"]).resolve()
            if not path.is_file():
                raise DataError(f"predictions file not found: {data['path']}")
            data = {**data, "path": str(path), "digest": data.get("digest") or files_digest(path)}
        return data


class MultilabelSpec(RunnableSpec):
    """Aggregate a data set's annotations and score models' predictions under them."""

    data: str
    """The data folder (see `tony.annotations.multilabel.schema`), as an absolute path."""
    data_digest: str = ""
    """SHA-256 of the data files (filled in when empty)."""
    predictions: tuple[ModelPredictions, ...] = ()
    min_selection: float = Field(MIN_SELECTION, gt=0.0, le=1.0)
    """A label is valid when at least this fraction of the image's annotators selected it."""
    co_selection_threshold: float = Field(CO_SELECTION_THRESHOLD, gt=0.0, le=1.0)
    """Labels chosen together by fewer than this fraction of those who chose either may be one object."""
    seed: int = 0
    """Seeds the bootstrap intervals."""

    @model_validator(mode="before")
    @classmethod
    def _resolve(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("data"), str | Path):
            folder = Path(data["data"]).resolve()
            if not (folder / ANNOTATIONS_FILE).is_file():
                raise DataError(f"{folder} is not a multi-label data folder: it has no {ANNOTATIONS_FILE}")
            data = {**data, "data": str(folder)}
            if not data.get("data_digest"):
                data["data_digest"] = files_digest(*(folder / name for name in DATA_FILES))
        return data

    @model_validator(mode="after")
    def _check(self) -> MultilabelSpec:
        names = [p.name for p in self.predictions]
        if len(set(names)) != len(names):
            raise SpecError(f"two prediction files share a model name ({', '.join(names)}); name them apart "
                            "with NAME=FILE")
        return self

    def task(self, store: Store, loaded: MultilabelData | None = None) -> MultilabelTask:
        return MultilabelTask(self, store, loaded)


class MultilabelTask:
    """The runner's view of a `MultilabelSpec` (the `tony.core.runner.Task` protocol)."""

    kind = KIND

    def __init__(self, spec: MultilabelSpec, store: Store, loaded: MultilabelData | None = None) -> None:
        self.spec, self.store = spec, store
        self._data = loaded
        self._predictions: dict[str, dict[str, Any]] | None = None
        self._by_image: dict[str, ImageAnnotations] | None = None

    @property
    def data(self) -> MultilabelData:
        if self._data is None:
            self._data = load_dataset(self.spec.data)
        return self._data

    def predictions(self) -> dict[str, dict[str, Any]]:
        """Model name -> image -> `Prediction`, every file checked against the data set."""
        from tony.annotations.multilabel.predictions import read_predictions

        if self._predictions is None:
            known: dict[str, int | None] = dict.fromkeys(self.data.categories)
            known.update((i.image, i.label) for i in self.data.images)
            out = {p.name: read_predictions(p.path, known, self.data.num_classes) for p in self.spec.predictions}
            _check_labels_agree(out)
            self._predictions = out
        return self._predictions

    def labels(self) -> dict[str, Any]:
        models = ", ".join(p.name for p in self.spec.predictions) or "no predictions"
        return {"scenario": f"multilabel {Path(self.spec.data).name}", "model": models}

    def items(self) -> list[str]:
        return list(self.data.categories)

    def process(self, item_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
        from tony.annotations.multilabel.accuracy import score

        data, predictions = self.data, self.predictions()
        annotated = self._annotated()
        superclass = data.superclass_of()
        records = []
        for image in item_ids:
            category = data.categories[image]
            found = annotated.get(image)
            summary = None if found is None else summarize(
                found, min_selection=self.spec.min_selection,
                co_selection_threshold=self.spec.co_selection_threshold)
            label = summary.label if summary else next(
                (p[image].label for p in predictions.values() if image in p), None)
            record: dict[str, Any] = {
                "category": category, "label": label,
                "superclass": None if label is None else superclass.get(label),
                "objects": None, "main": None, "main_tied": False, "valid": [], "groups": [], "frequency": [],
                "models": {name: {"predicted": list(p[image].top5), **score(p[image], category, summary)}
                           for name, p in predictions.items() if image in p},
            }
            if summary is not None:
                record.update(objects=summary.objects, main=summary.main, main_tied=summary.main_tied,
                              valid=list(summary.valid), groups=[list(g) for g in summary.groups],
                              frequency=[[k, round(v, 6)] for k, v in summary.frequency.items()])
            records.append((image, record))
        return records

    def aggregate(self, records: list[dict[str, Any]]) -> list[Stat]:
        from tony.annotations.multilabel.accuracy import annotation_stats, model_stats

        stats = annotation_stats(records, seed=self.spec.seed)
        for p in self.spec.predictions:
            stats += model_stats(records, p.name, seed=self.spec.seed)
        return stats

    def close(self) -> None:
        self._predictions = None

    def _annotated(self) -> dict[str, ImageAnnotations]:
        if self._by_image is None:
            self._by_image = {i.image: i for i in self.data.images}
        return self._by_image


def _check_labels_agree(predictions: dict[str, dict[str, Any]]) -> None:
    """Two files giving different benchmark labels for one image cannot both be right."""
    seen: dict[str, tuple[str, int]] = {}
    for name, by_image in predictions.items():
        for image, p in by_image.items():
            if image in seen and seen[image][1] != p.label:
                raise DataError(f"predictions of '{seen[image][0]}' and '{name}' give image '{image}' different "
                                f"benchmark labels ({seen[image][1]} and {p.label}); fix one file")
            seen.setdefault(image, (name, p.label))
