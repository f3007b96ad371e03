"""Test data for the multi-label study: small folders in the documented schema, simulated from known objects."""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from pathlib import Path

REAL_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "imagenet-multilabel"
"""../shared/data/imagenet-multilabel relative to the repository root (absent in a user's clone)."""
NUM_CLASSES = 40


@dataclass(frozen=True)
class TrueImage:
    """What a simulated image really holds: objects, each with its acceptable names (alternatives)."""

    image: str
    label: int
    objects: tuple[tuple[int, ...], ...]
    """The first object is the main one."""


def simulate(seed: int, images: int = 60, annotators: int = 9) -> tuple[list[TrueImage], list[dict]]:
    """Images with 1-3 objects, each object with 1-2 alternative names from disjoint label pools; annotators
    name each object they see once (an alternative at random), miss a non-main object with chance 0.1, and
    pick the main object's name as main with chance 0.85."""
    rng = random.Random(seed)
    truth, rows = [], []
    for index in range(images):
        pool = rng.sample(range(NUM_CLASSES), 6)
        k = rng.choice([1, 1, 2, 3])
        objects = tuple(tuple(pool[2 * j: 2 * j + rng.choice([1, 2])]) for j in range(k))
        label = objects[0][0] if rng.random() < 0.7 else objects[-1][0]
        truth.append(TrueImage(f"img_{index:04d}.JPEG", label, objects))
        selected, main = [], []
        for _ in range(annotators):
            chosen = [rng.choice(obj) for j, obj in enumerate(objects) if j == 0 or rng.random() > 0.1]
            selected.append(chosen)
            main.append(chosen[0] if rng.random() < 0.85 else rng.choice(chosen))
        rows.append({"image": truth[-1].image, "imagenet_label": label, "num_workers": annotators,
                     "selected": selected, "main": main})
    return truth, rows


def write_folder(folder: Path, rows: list[dict], *, others: dict[str, str] | None = None,
                 superclasses: dict[str, list[int]] | None = None) -> Path:
    """A data folder: the annotation rows, categories (the rows as fu plus `others`), classes, superclasses."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "classify_task.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with (folder / "image_categories.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "annotation"])
        writer.writerows([[r["image"], "fu"] for r in rows] + sorted((others or {}).items()))
    classes = {str(i): {"name": f"class {i}", "wnid": f"n{i:08d}"} for i in range(NUM_CLASSES)}
    (folder / "classes.json").write_text(json.dumps(classes))
    groups = superclasses or {"low": list(range(NUM_CLASSES // 2)), "high": list(range(NUM_CLASSES // 2,
                                                                                         NUM_CLASSES))}
    (folder / "superclasses.json").write_text(json.dumps(groups))
    return folder


def oracle_predictions(truth: list[TrueImage], others: dict[str, int], seed: int, *,
                       main_rate: float, label_rate: float) -> list[tuple[str, list[int], int | None]]:
    """Predictions whose top-1 is the main object's first name with chance `main_rate`, else the benchmark
    label with chance `label_rate`, else a label in no object; the other four are fillers. `others` maps
    images without judgments to their benchmark labels (given in the file)."""
    rng = random.Random(seed)
    rows = []
    for t in truth:
        names = {x for obj in t.objects for x in obj}
        outside = [c for c in range(NUM_CLASSES) if c not in names]
        draw = rng.random()
        top = t.objects[0][0] if draw < main_rate else t.label if draw < main_rate + label_rate else rng.choice(outside)
        rows.append((t.image, [top, *[c for c in rng.sample(outside, 5) if c != top][:4]], None))
    for image, label in sorted(others.items()):
        top = label if rng.random() < label_rate else (label + 1) % NUM_CLASSES
        rows.append((image, [top, *[c for c in rng.sample(range(NUM_CLASSES), 6) if c != top][:4]], label))
    return rows
