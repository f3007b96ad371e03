"""The multi-label annotation schema and its loader.

A data set is a folder of plain files (the layout of `../shared/data/imagenet-multilabel/`):

``classify_task.jsonl`` (required): one JSON object per line, one line per image that annotators
judged label by label (the "follow-up" images of the first stage). Fields:

- ``image``: the image's file name (a string, unique in the file);
- ``imagenet_label``: its benchmark label, a class index in [0, number of classes);
- ``num_workers``: how many annotators judged it (at least 1);
- ``selected``: one list per annotator of the class indices that annotator marked as present, each
  standing for a distinct object (at least one label, no repeats);
- ``main``: one class index per annotator, the label that annotator judged the main object; it must be
  one of that annotator's selected labels.

``image_categories.csv`` (optional): header ``image,annotation``, then one row per image of the first
(CONTAINS) task with its outcome: ``easy`` (only the benchmark label was confidently selected), ``mis``
(no annotator selected the benchmark label), ``amb`` (too few annotators after quality control) or
``fu`` (sent to the follow-up task). Every image of ``classify_task.jsonl`` must be ``fu`` here and
every ``fu`` image must be in it. Without the file, the annotated images are the only ones, all ``fu``.

``classes.json`` (optional): ``{"<index>": {"name": ..., "wnid": ...}}``; the number of entries is the
number of classes (default 1000, unnamed). ``superclasses.json`` (optional): ``{"<group name>":
[class index, ...]}``, named groups for the accuracy breakdown.

Anything else is a `DataError` naming the file and line, with what to fix.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tony.core.data import Dataset
from tony.core.errors import DataError

DATASET = Dataset(
    "imagenet-multilabel",
    tuple(f"imagenet-multilabel/{name}" for name in
          ("classify_task.jsonl", "image_categories.csv", "classes.json", "superclasses.json")),
    "MIT", "https://github.com/MadryLab/ImageNetMultiLabel",
    "multi-label annotations of the ImageNet validation set (tony annotations multilabel)",
)

ANNOTATIONS_FILE = "classify_task.jsonl"
CATEGORIES_FILE = "image_categories.csv"
CLASSES_FILE = "classes.json"
SUPERCLASSES_FILE = "superclasses.json"
DEFAULT_CLASSES = 1000
FIRST_STAGE = ("easy", "mis", "amb", "fu")
"""First-stage outcomes; ``fu`` (follow-up) images are the ones with per-annotator judgments."""
FOLLOW_UP = "fu"
_FIELDS = ("image", "imagenet_label", "num_workers", "selected", "main")


@dataclass(frozen=True)
class ImageAnnotations:
    """Every annotator's judgments of one image."""

    image: str
    label: int
    """The benchmark (ImageNet) label."""
    selected: tuple[tuple[int, ...], ...]
    """Per annotator, the labels they marked present, one per distinct object."""
    main: tuple[int, ...]
    """Per annotator, the label they judged the main object."""

    @property
    def annotators(self) -> int:
        return len(self.selected)


@dataclass(frozen=True)
class MultilabelData:
    """A loaded data set: the annotated images and what the first stage said about every image."""

    images: list[ImageAnnotations]
    categories: dict[str, str]
    """Image -> first-stage outcome, for every image of the study (annotated ones are ``fu``)."""
    num_classes: int = DEFAULT_CLASSES
    class_names: dict[int, str] = field(default_factory=dict)
    superclasses: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def superclass_of(self) -> dict[int, str]:
        """Class index -> the first superclass (in file order) that holds it."""
        out: dict[int, str] = {}
        for name, members in self.superclasses.items():
            for index in members:
                out.setdefault(index, name)
        return out


def load_dataset(directory: str | Path) -> MultilabelData:
    """Read a data set folder (see the module docstring); a DataError names any bad file and line."""
    root = Path(directory)
    if not root.is_dir():
        raise DataError(f"multi-label data folder not found: {root} (it must hold {ANNOTATIONS_FILE})")
    num_classes, names = _read_classes(root / CLASSES_FILE)
    images = read_annotations(root / ANNOTATIONS_FILE, num_classes)
    categories = _read_categories(root / CATEGORIES_FILE, images)
    superclasses = _read_superclasses(root / SUPERCLASSES_FILE, num_classes)
    return MultilabelData(images, categories, num_classes, names, superclasses)


def read_annotations(path: Path, num_classes: int = DEFAULT_CLASSES) -> list[ImageAnnotations]:
    """The images of a ``classify_task.jsonl`` file, in file order."""
    if not path.is_file():
        raise DataError(f"annotation file not found: {path} (one JSON object per image, see "
                        "tony.annotations.multilabel.schema)")
    images: list[ImageAnnotations] = []
    seen: set[str] = set()
    with _open(path) as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            image = _parse_image(_json_object(line, path, number), num_classes, path, number)
            if image.image in seen:
                raise DataError(f"{path}:{number}: image '{image.image}' appears twice; keep one line per image")
            seen.add(image.image)
            images.append(image)
    if not images:
        raise DataError(f"{path} holds no images; add one JSON line per annotated image")
    return images


def _parse_image(row: dict[str, Any], num_classes: int, path: Path, number: int) -> ImageAnnotations:
    where = f"{path}:{number}"
    missing = [f for f in _FIELDS if f not in row]
    if missing:
        raise DataError(f"{where}: not in the schema: missing field(s) {', '.join(missing)} "
                        f"(each line needs {', '.join(_FIELDS)})")
    image, workers, selected, main = row["image"], row["num_workers"], row["selected"], row["main"]
    if not isinstance(image, str) or not image:
        raise DataError(f"{where}: not in the schema: 'image' must be a non-empty file name")
    label = _class_index(row["imagenet_label"], num_classes, where, "imagenet_label")
    if not _is_int(workers) or not isinstance(selected, list) or not isinstance(main, list):
        raise DataError(f"{where}: not in the schema: 'num_workers' must be an integer and 'selected', "
                        "'main' lists")
    if workers < 1 or not selected:
        raise DataError(f"{where}: image '{image}' has no annotators; drop the line or add its judgments")
    if not workers == len(selected) == len(main):
        raise DataError(f"{where}: not in the schema: num_workers={workers} but {len(selected)} selections "
                        f"and {len(main)} main labels; give one of each per annotator")
    if _well_formed(selected, main, num_classes):
        return ImageAnnotations(image, label, tuple(map(tuple, selected)), tuple(main))
    # Something is wrong: find the first bad judgment, for the message.
    selections = []
    for annotator, (chosen, principal) in enumerate(zip(selected, main, strict=True)):
        if not isinstance(chosen, list) or not chosen:
            raise DataError(f"{where}: not in the schema: annotator {annotator} selected no labels "
                            "(each selection is a non-empty list of class indices)")
        labels = tuple(_class_index(v, num_classes, where, "selected") for v in chosen)
        if len(set(labels)) != len(labels):
            raise DataError(f"{where}: annotator {annotator} selected a label twice; each label stands for one "
                            "object, list it once")
        if _class_index(principal, num_classes, where, "main") not in labels:
            raise DataError(f"{where}: annotator {annotator}'s main label {principal} is not among the labels "
                            "they selected")
        selections.append(labels)
    return ImageAnnotations(image, label, tuple(selections), tuple(main))


def _well_formed(selected: list[Any], main: list[Any], num_classes: int) -> bool:
    """The common case checked in bulk: every selection a non-empty list of distinct in-range class indices
    holding its annotator's main label (the per-value checks below only run to name what is wrong)."""
    for chosen, principal in zip(selected, main, strict=True):
        if not isinstance(chosen, list) or not chosen or not all(type(v) is int and 0 <= v < num_classes
                                                                     for v in chosen):
            return False
        if type(principal) is not int or principal not in chosen or len(set(chosen)) != len(chosen):
            return False
    return True


def _class_index(value: Any, num_classes: int, where: str, name: str) -> int:
    if not _is_int(value):
        raise DataError(f"{where}: not in the schema: '{name}' holds {value!r}, not a class index")
    if not 0 <= value < num_classes:
        raise DataError(f"{where}: label {value} in '{name}' is out of range: class indices run from 0 to "
                        f"{num_classes - 1} ({CLASSES_FILE} sets the number of classes)")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _json_object(line: str, path: Path, number: int) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{number}: not in the schema: not valid JSON ({err.msg}); "
                        "each line must be one JSON object") from None
    if not isinstance(row, dict):
        raise DataError(f"{path}:{number}: not in the schema: each line must be one JSON object")
    return row


def _open(path: Path):
    try:
        return path.open(encoding="utf-8")
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror or err}") from None


def _read_classes(path: Path) -> tuple[int, dict[int, str]]:
    if not path.exists():
        return DEFAULT_CLASSES, {}
    data = _json_file(path)
    if not isinstance(data, dict) or not all(k.isdigit() for k in data):
        raise DataError(f"{path}: not in the schema: expected {{\"<class index>\": {{\"name\": ...}}}}")
    names = {int(k): str(v.get("name", k)) if isinstance(v, dict) else str(v) for k, v in data.items()}
    if sorted(names) != list(range(len(names))):
        raise DataError(f"{path}: class indices must run 0, 1, ... without gaps")
    return len(names), names


def _read_superclasses(path: Path, num_classes: int) -> dict[str, tuple[int, ...]]:
    if not path.exists():
        return {}
    data = _json_file(path)
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise DataError(f"{path}: not in the schema: expected {{\"<group name>\": [class index, ...]}}")
    return {name: tuple(_class_index(v, num_classes, str(path), name) for v in members)
            for name, members in data.items()}


def _json_file(path: Path) -> Any:
    with _open(path) as handle:
        try:
            return json.load(handle)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None


def _read_categories(path: Path, images: list[ImageAnnotations]) -> dict[str, str]:
    annotated = {i.image for i in images}
    if not path.exists():
        return dict.fromkeys(annotated, FOLLOW_UP)
    categories: dict[str, str] = {}
    with _open(path) as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header != ["image", "annotation"]:
            raise DataError(f"{path}:1: not in the schema: the header must be 'image,annotation'")
        for number, row in enumerate(reader, 2):
            if len(row) != 2 or row[1] not in FIRST_STAGE or not row[0]:
                raise DataError(f"{path}:{number}: not in the schema: expected 'image,outcome' with outcome one "
                                f"of {', '.join(FIRST_STAGE)}")
            if row[0] in categories:
                raise DataError(f"{path}:{number}: image '{row[0]}' appears twice; keep one row per image")
            if (row[1] == FOLLOW_UP) != (row[0] in annotated):
                raise DataError(f"{path}:{number}: image '{row[0]}' is '{row[1]}' but "
                                f"{'is not' if row[1] == FOLLOW_UP else 'is'} in {ANNOTATIONS_FILE}; "
                                "exactly the follow-up ('fu') images have per-annotator judgments")
            categories[row[0]] = row[1]
    absent = annotated - categories.keys()
    if absent:
        raise DataError(f"{path}: {len(absent)} annotated image(s) have no row, e.g. '{min(absent)}'; "
                        "add them as 'fu'")
    return categories
