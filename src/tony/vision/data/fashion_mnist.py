"""Fashion-MNIST from its idx files (Debian's `dataset-fashion-mnist` puts them in /usr/share/datasets/fashion-mnist/).

The coarse hierarchy groups the ten classes by where on the body they are worn:

    garment
      tops: T-shirt/top, shirt, pullover, coat
      trousers-and-dresses: trouser, dress
      footwear: sandal, sneaker, ankle boot
      bags: bag

Why this one: it is the grouping the images themselves suggest (the tops share a sleeved torso
outline, the shoes a sole), and it puts the classes that Fashion-MNIST classifiers confuse most
(shirt, T-shirt, pullover, coat) under one superclass, so a BREEDS split of "tops" measures a real
subpopulation shift. Three superclasses have at least two subclasses (tops 4, footwear 3, trousers
and dresses 2); "bags" has one and drops out of any balanced split.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from tony.core.errors import DataError, SpecError
from tony.vision.data.dataset import ImageDataset
from tony.vision.hierarchy import Hierarchy

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
INSTALL_HINT = "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or give the folder"
CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot")
"""Class ids in label order (the idx files' labels 0-9)."""
NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
GROUPS = {
    "tops": ("t-shirt", "shirt", "pullover", "coat"),
    "trousers-and-dresses": ("trouser", "dress"),
    "footwear": ("sandal", "sneaker", "ankle-boot"),
    "bags": ("bag",),
}
GROUP_NAMES = {"tops": "tops", "trousers-and-dresses": "trousers and dresses", "footwear": "footwear", "bags": "bags"}
ROOT = "garment"
SPLITS = {"train": "train", "test": "t10k"}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049
"""idx headers: 0x00000803 (uint8, 3 dimensions) and 0x00000801 (uint8, 1 dimension)."""


def fashion_hierarchy() -> Hierarchy:
    """garment -> 4 groups -> 10 classes (see the module docstring)."""
    edges = [(ROOT, group) for group in GROUPS] + [(g, c) for g, members in GROUPS.items() for c in members]
    return Hierarchy(edges, {ROOT: "garment", **GROUP_NAMES, **dict(zip(CLASSES, NAMES, strict=True))})


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"Fashion-MNIST file {stem}[.gz] not found in {folder}: {INSTALL_HINT}")


def read_idx(path: Path, magic: int) -> np.ndarray:
    """An idx file (plain or gzipped) of unsigned bytes, shaped by its header."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as err:
        raise DataError(f"cannot read {path}: {err}") from None
    dims = magic & 0xFF
    if len(raw) < 4 + 4 * dims or int.from_bytes(raw[:4], "big") != magic:
        raise DataError(f"{path} is not an idx file of {dims}-dimensional unsigned bytes (bad header): "
                        "reinstall dataset-fashion-mnist")
    shape = tuple(int.from_bytes(raw[4 + 4 * k: 8 + 4 * k], "big") for k in range(dims))
    body = raw[4 + 4 * dims:]
    if len(body) != int(np.prod(shape)):
        raise DataError(f"{path} holds {len(body)} bytes of data, its header says {shape}: the file is truncated")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def load_fashion_mnist(root: str | Path = DEBIAN_DIR, split: str = "train") -> ImageDataset:
    """Fashion-MNIST's `split` ("train": 60,000 images, "test": 10,000, "all": both) as uint8 [N, 1, 28, 28]."""
    if split not in (*SPLITS, "all"):
        raise SpecError(f"unknown Fashion-MNIST split {split!r}: use train, test or all")
    folder = Path(root)
    if not folder.is_dir():
        raise DataError(f"Fashion-MNIST folder {folder} does not exist: {INSTALL_HINT}")
    parts = list(SPLITS) if split == "all" else [split]
    images, labels = [], []
    for part in parts:
        prefix = SPLITS[part]
        pixels = read_idx(_find(folder, f"{prefix}-images-idx3-ubyte"), IMAGES_MAGIC)
        targets = read_idx(_find(folder, f"{prefix}-labels-idx1-ubyte"), LABELS_MAGIC)
        if len(pixels) != len(targets):
            raise DataError(f"Fashion-MNIST {part} has {len(pixels)} images but {len(targets)} labels in {folder}")
        if len(targets) and targets.max() >= len(CLASSES):
            raise DataError(f"Fashion-MNIST {part} labels in {folder} go up to {targets.max()}; expected 0-9")
        images.append(pixels)
        labels.append(targets)
    pixels = np.concatenate(images)
    return ImageDataset(torch.from_numpy(pixels.copy()).unsqueeze(1),
                        torch.from_numpy(np.concatenate(labels).astype(np.int64)), CLASSES, fashion_hierarchy())
