"""The two input files of a replication study, and writing them (the simulator's example files).

Annotations, CSV with a header row naming at least these columns (any order; others are ignored):

    image,set,yes,n
    n01440764_10026,original,9,10
    flickr_8823,replicated,6,10

- image: an id, unique in the file;
- set: ``original`` or ``replicated``;
- yes, n: of the n annotators asked whether the image shows its label, yes said it does
  (integers, 0 <= yes <= n, n >= 1). Estimates are only unbiased when these counts come from a round of
  annotation made after the replicated set was chosen, not from the counts it was matched on;
- class (optional): the image's label, kept for reference.

Predictions, CSV with a header ``image,<model>,<model>,...`` and one row per annotated image, each
model's cell 1 when its top-1 prediction is the image's label and 0 when not.

Every error names the file and line and says what to fix.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tony.annotations.replication.data import ORIGINAL, REPLICATED, SETS, ImageSet, ReplicationData
from tony.core.errors import DataError

ANNOTATION_COLUMNS = ("image", "set", "yes", "n")


def read_study(annotations: str | Path, predictions: str | Path) -> ReplicationData:
    """Both files, checked against each other: every annotated image needs a prediction row and back."""
    images = read_annotations(annotations)
    models, rows = read_predictions(predictions)
    parts: dict[str, list[tuple[int, int, list[bool]]]] = {name: [] for name in SETS}
    for image, (line, _) in rows.items():
        if image not in images:
            raise DataError(f"{predictions} line {line}: image '{image}' has no annotators in {annotations}; "
                            "add its yes/n counts there or drop its row")
    for image, (line, set_name, yes, n) in images.items():
        if image not in rows:
            raise DataError(f"{annotations} line {line}: image '{image}' has no row in {predictions}; "
                            "add one with each model's 0/1 correctness")
        parts[set_name].append((yes, n, rows[image][1]))
    for name in SETS:
        if not parts[name]:
            raise DataError(f"{annotations}: no images of set '{name}'; the study needs both "
                            f"'{ORIGINAL}' and '{REPLICATED}' images")
    sets = [ImageSet(np.array([p[0] for p in parts[name]]), np.array([p[1] for p in parts[name]]),
                     np.array([p[2] for p in parts[name]], dtype=bool).reshape(-1, len(models))) for name in SETS]
    return ReplicationData(sets[0], sets[1], tuple(models))


def read_annotations(path: str | Path) -> dict[str, tuple[int, str, int, int]]:
    """image -> (line, set, yes, n)."""
    out: dict[str, tuple[int, str, int, int]] = {}
    for line, row in _rows(path, ANNOTATION_COLUMNS):
        image, set_name = row["image"].strip(), row["set"].strip()
        if not image:
            raise DataError(f"{path} line {line}: empty image id")
        if set_name not in SETS:
            raise DataError(f"{path} line {line}: set '{set_name}' is not '{ORIGINAL}' or '{REPLICATED}'")
        yes, n = _integer(path, line, row, "yes"), _integer(path, line, row, "n")
        if n == 0:
            raise DataError(f"{path} line {line}: image '{image}' has no annotators (n = 0); "
                            "drop it or give its annotator counts")
        if n < 0 or yes < 0:
            raise DataError(f"{path} line {line}: yes and n must not be negative (got yes = {yes}, n = {n})")
        if yes > n:
            raise DataError(f"{path} line {line}: yes = {yes} is more than n = {n} annotators")
        if image in out:
            raise DataError(f"{path} line {line}: image '{image}' again (first on line {out[image][0]}); "
                            "give each image one row with its total counts")
        out[image] = (line, set_name, yes, n)
    if not out:
        raise DataError(f"{path}: no images; give one row per image after the header {','.join(ANNOTATION_COLUMNS)}")
    return out


def read_predictions(path: str | Path) -> tuple[list[str], dict[str, tuple[int, list[bool]]]]:
    """The model names and image -> (line, correct per model)."""
    file = Path(path)
    try:
        handle = file.open(newline="", encoding="utf-8")
    except OSError as err:
        raise DataError(f"cannot read predictions file {file}: {err.strerror or err}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader, [])]
            if len(header) < 2 or header[0] != "image" or not all(header[1:]):
                raise DataError(f"{file} line 1: the header must be image,<model>,... with at least one model "
                                f"(got {','.join(header) or 'an empty line'})")
            if len(set(header[1:])) < len(header) - 1:
                raise DataError(f"{file} line 1: a model name appears twice in the header")
            models = header[1:]
            rows: dict[str, tuple[int, list[bool]]] = {}
            for values in reader:
                line = reader.line_num
                if not values or values == [""]:
                    continue
                if len(values) != len(header):
                    raise DataError(f"{file} line {line}: {len(values)} fields, the header has {len(header)}")
                cells = [v.strip() for v in values[1:]]
                if not set(cells) <= {"0", "1"}:
                    bad = next(c for c in cells if c not in ("0", "1"))
                    raise DataError(f"{file} line {line}: correctness '{bad}' is not 0 or 1")
                image = values[0].strip()
                if image in rows:
                    raise DataError(f"{file} line {line}: image '{image}' again (first on line {rows[image][0]})")
                rows[image] = (line, [c == "1" for c in cells])
        except (csv.Error, UnicodeDecodeError) as err:
            raise DataError(f"{file} line {reader.line_num}: not CSV text ({err})") from None
    return models, rows


def _rows(path: str | Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    file = Path(path)
    try:
        handle = file.open(newline="", encoding="utf-8")
    except OSError as err:
        raise DataError(f"cannot read annotations file {file}: {err.strerror or err}") from None
    with handle:
        reader = csv.DictReader(handle)
        try:
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in required if c not in header]
            if missing:
                raise DataError(f"{file} line 1: header lacks column(s) {', '.join(missing)}; "
                                f"expected {','.join(required)}[,class]")
            reader.fieldnames = header
            for row in reader:
                if None in row or any(row[c] is None for c in required):
                    raise DataError(f"{file} line {reader.line_num}: the row does not have the header's "
                                    f"{len(header)} fields")
                yield reader.line_num, row
        except (csv.Error, UnicodeDecodeError) as err:
            raise DataError(f"{file} line {reader.line_num}: not CSV text ({err})") from None


def _integer(path: str | Path, line: int, row: dict[str, str], column: str) -> int:
    text = row[column].strip()
    try:
        return int(text)
    except ValueError:
        raise DataError(f"{path} line {line}: {column} = '{text}' is not a whole number") from None


def write_study(directory: str | Path, data: ReplicationData, image_ids: tuple[list[str], list[str]],
                classes: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[Path, Path]:
    """Write annotations.csv and predictions.csv for `data` into `directory`; return their paths."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    annotations, predictions = folder / "annotations.csv", folder / "predictions.csv"
    with annotations.open("w", newline="", encoding="utf-8") as ann, \
            predictions.open("w", newline="", encoding="utf-8") as pred:
        ann_writer, pred_writer = csv.writer(ann), csv.writer(pred)
        ann_writer.writerow([*ANNOTATION_COLUMNS, "class"] if classes is not None else ANNOTATION_COLUMNS)
        pred_writer.writerow(["image", *data.models])
        for index, (name, part) in enumerate(zip(SETS, (data.original, data.replicated), strict=True)):
            for i, image in enumerate(image_ids[index]):
                extra = [int(classes[index][i])] if classes is not None else []
                ann_writer.writerow([image, name, int(part.yes[i]), int(part.n[i]), *extra])
                pred_writer.writerow([image, *part.correct[i].astype(int)])
    return annotations, predictions
