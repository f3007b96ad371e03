"""BREEDS: subpopulation-shift tasks built from a class hierarchy (Santurkar, Tsipras, Madry 2021).

`files` reads and writes the BREEDS hierarchy format, `wordnet` builds a hierarchy from WordNet for
any list of wnids, and `splits` picks superclasses at a level and splits their subclasses into
source and target ("rand", "good", "bad"), reproducing ENTITY-13, ENTITY-30, LIVING-17 and
NONLIVING-26 exactly on the BREEDS ImageNet hierarchy and working the same on any `Hierarchy`.
`study` trains on source subclasses and tests on target ones; `cli` and `study_cli` are `tony breeds`.

The names below are imported on first use, so that `tony --help` (which imports `cli`) imports no numpy.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BreedsHierarchy": "tony.vision.breeds.files",
    "DatasetClass": "tony.vision.breeds.files",
    "read_breeds": "tony.vision.breeds.files",
    "write_breeds": "tony.vision.breeds.files",
    "PUBLISHED": "tony.vision.breeds.splits",
    "SPLITS": "tony.vision.breeds.splits",
    "Superclass": "tony.vision.breeds.splits",
    "Task": "tony.vision.breeds.splits",
    "make_task": "tony.vision.breeds.splits",
    "published_task": "tony.vision.breeds.splits",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tony.vision.breeds' has no attribute {name!r}")
