"""The BREEDS hierarchy format: three files in one folder.

- `class_hierarchy.txt`: one edge per line, `parent child` (whitespace separated);
- `dataset_class_info.json`: `[[class_index, wnid, class_name], ...]` for every dataset class;
- `node_names.txt`: `wnid<TAB>name` per node.

As in the published reader, the hierarchy keeps only the nodes that lead to a dataset class (the
ImageNet files have 1000 classes, of which the modified BREEDS hierarchy covers 890), and dataset
classes must be its leaves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tony.core.data import Dataset
from tony.core.errors import DataError
from tony.vision.hierarchy import Hierarchy, HierarchyError

EDGES, CLASSES, NAMES = "class_hierarchy.txt", "dataset_class_info.json", "node_names.txt"
REQUIRED_FILES = (EDGES, CLASSES, NAMES)
SOURCE_HINT = "the ImageNet files are imagenet_class_hierarchy/modified in github.com/MadryLab/BREEDS-Benchmarks"
DATASET = Dataset(
    "breeds-hierarchy", tuple(f"breeds-hierarchy/{name}" for name in REQUIRED_FILES), "MIT",
    "https://github.com/MadryLab/BREEDS-Benchmarks", "BREEDS' modified ImageNet class hierarchy (tony breeds splits)",
)


@dataclass(frozen=True)
class DatasetClass:
    """One class of the dataset: its label index, id and name."""

    index: int
    wnid: str
    name: str


@dataclass(frozen=True)
class BreedsHierarchy:
    """A BREEDS-format hierarchy: the DAG over the dataset's classes, and every class of the dataset."""

    hierarchy: Hierarchy
    classes: tuple[DatasetClass, ...]
    """Every dataset class in file order, including any the hierarchy does not cover."""

    def index_of(self, wnid: str) -> int:
        """The dataset's label index of a class."""
        for dataset_class in self.classes:
            if dataset_class.wnid == wnid:
                return dataset_class.index
        raise HierarchyError(f"unknown class {wnid!r}: it is not in {CLASSES}")


def read_breeds(directory: str | Path) -> BreedsHierarchy:
    """Read the three BREEDS files from `directory`."""
    folder = Path(directory)
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise DataError(f"{folder} lacks {', '.join(missing)}: give a folder with {', '.join(REQUIRED_FILES)} "
                        f"({SOURCE_HINT})")
    edges = []
    for number, line in enumerate(_lines(folder / EDGES), 1):
        parts = line.split()
        if len(parts) != 2:
            raise DataError(f"{folder / EDGES}:{number}: expected 'parent child', got {line.strip()!r}")
        edges.append((parts[0], parts[1]))
    names = {}
    for number, line in enumerate(_lines(folder / NAMES), 1):
        wnid, tab, name = line.rstrip("\n").partition("\t")
        if not tab:
            raise DataError(f"{folder / NAMES}:{number}: expected 'wnid<TAB>name', got {line.strip()!r}")
        names[wnid.strip()] = name.strip()
    classes = _read_classes(folder / CLASSES)
    class_ids = {c.wnid for c in classes}
    keep = _ancestors_of(class_ids, edges)
    hierarchy = Hierarchy([(p, c) for p, c in edges if p in keep and c in keep],
                          {**{c.wnid: c.name for c in classes}, **names})
    inner = sorted(wnid for wnid in class_ids if wnid in hierarchy and hierarchy.children(wnid))
    if inner:
        raise HierarchyError(f"dataset class {inner[0]} has children in {EDGES}: dataset classes must be leaves")
    return BreedsHierarchy(hierarchy, classes)


def write_breeds(directory: str | Path, hierarchy: Hierarchy,
                 classes: Iterable[DatasetClass] | None = None) -> Path:
    """Write `hierarchy` in the BREEDS format; the classes default to its leaves, sorted, indexed from 0."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    if classes is None:
        classes = [DatasetClass(i, leaf, hierarchy.name(leaf)) for i, leaf in enumerate(hierarchy.leaves)]
    (folder / EDGES).write_text("".join(f"{p} {c}\n" for p, c in hierarchy.edges))
    (folder / NAMES).write_text("".join(f"{n}\t{hierarchy.name(n)}\n" for n in hierarchy.nodes))
    (folder / CLASSES).write_text(json.dumps([[c.index, c.wnid, c.name] for c in classes]))
    return folder


def _lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read {path}: {err}") from None


def _read_classes(path: Path) -> tuple[DatasetClass, ...]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        classes = tuple(DatasetClass(int(index), str(wnid), str(name)) for index, wnid, name in rows)
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as err:
        raise DataError(f"{path} is not a list of [class_index, wnid, class_name]: {err}") from None
    if not classes:
        raise DataError(f"{path} lists no classes: it needs one [class_index, wnid, class_name] per class")
    return classes


def _ancestors_of(targets: set[str], edges: list[tuple[str, str]]) -> set[str]:
    """The targets that appear in the edges, and every node above them."""
    parents: dict[str, list[str]] = {}
    for parent, child in edges:
        parents.setdefault(child, []).append(parent)
        parents.setdefault(parent, [])
    found = {t for t in targets if t in parents}
    stack = list(found)
    while stack:
        for parent in parents[stack.pop()]:
            if parent not in found:
                found.add(parent)
                stack.append(parent)
    return found
