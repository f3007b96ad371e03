"""Model predictions for multi-label accuracy: one JSONL file per model.

Each line is one JSON object:

- ``image``: an image of the data set (``image_categories.csv``, or ``classify_task.jsonl`` without it);
- ``top5``: the model's five most likely class indices, most likely first (distinct, in range);
- ``label`` (optional): the image's benchmark label. Required for images without per-annotator
  judgments (``easy``, ``mis``, ``amb``), whose label the annotation files do not hold; where the
  annotations hold it, it must agree.

Images of the data set that a file leaves out are not scored for that model. Anything else is a
`DataError` naming the file and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tony.core.errors import DataError

TOP_K = 5


@dataclass(frozen=True)
class Prediction:
    top5: tuple[int, ...]
    label: int | None = None


def read_predictions(path: str | Path, known: dict[str, int | None], num_classes: int) -> dict[str, Prediction]:
    """Image -> prediction from a predictions file; `known` maps every image of the data set to its
    benchmark label (None where the annotations do not hold it)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise DataError(f"cannot read predictions file {path}: {err.strerror or err}") from None
    out: dict[str, Prediction] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{where}: not in the schema: not valid JSON ({err.msg}); each line must be "
                            '{"image": ..., "top5": [5 class indices]}') from None
        if not isinstance(row, dict) or not isinstance(row.get("image"), str) or not isinstance(row.get("top5"),
                                                                                                   list):
            raise DataError(f"{where}: not in the schema: each line must be "
                            '{"image": ..., "top5": [5 class indices], "label": optional}')
        image, top5, label = row["image"], row["top5"], row.get("label")
        if image not in known:
            raise DataError(f"{where}: image '{image}' is not in the data set; predict only its images")
        if image in out:
            raise DataError(f"{where}: image '{image}' appears twice; keep one line per image")
        if len(top5) != TOP_K or len(set(map(str, top5))) != TOP_K:
            raise DataError(f"{where}: 'top5' must hold {TOP_K} distinct class indices, got {top5!r}")
        for value in [*top5, *([] if label is None else [label])]:
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < num_classes:
                raise DataError(f"{where}: label {value!r} is out of range: class indices run from 0 to "
                                f"{num_classes - 1}")
        if known[image] is None and label is None:
            raise DataError(f"{where}: image '{image}' has no per-annotator judgments, so its benchmark label is "
                            "unknown: add \"label\" to the line")
        if known[image] is not None and label is not None and label != known[image]:
            raise DataError(f"{where}: 'label' {label} of image '{image}' disagrees with the annotations' "
                            f"benchmark label {known[image]}")
        out[image] = Prediction(tuple(top5), label if label is not None else known[image])
    if not out:
        raise DataError(f"predictions file {path} holds no predictions")
    return out


def write_predictions(path: str | Path, rows: Iterable[tuple[str, Iterable[int], int | None]]) -> Path:
    """Write (image, top-5 labels, benchmark label or None) rows in the predictions format."""
    path = Path(path)
    lines = [json.dumps({"image": image, "top5": list(top5), **({} if label is None else {"label": label})})
             for image, top5, label in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
