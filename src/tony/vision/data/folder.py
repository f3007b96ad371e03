"""An ImageNet-style image folder (one sub-folder of images per class wnid) joined to a class hierarchy.

    hierarchy = read_breeds("breeds-hierarchy/").hierarchy      # tony.vision.breeds.files
    data = load_image_folder("imagenet/train", hierarchy, size=64)

Every sub-folder must be a node of the hierarchy and hold at least one image; the dataset's
hierarchy is the given one cut down to the folder's classes and their ancestors. Images are
resized so the shorter side is `size`, then centre-cropped to size x size (the usual evaluation
transform), and kept as uint8 RGB. Needs pillow (the vision extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from tony.core.errors import DataError, SpecError
from tony.core.progress import progress_bar
from tony.vision.data.dataset import ImageDataset, restrict_hierarchy
from tony.vision.hierarchy import Hierarchy

EXTENSIONS = (".jpeg", ".jpg", ".png")
"""Image files are recognised by these suffixes, in any case (ImageNet's are ".JPEG")."""


def class_folders(root: str | Path, hierarchy: Hierarchy) -> dict[str, list[Path]]:
    """wnid -> its image files (sorted), checking every folder against the hierarchy."""
    folder = Path(root)
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist: give a folder with one sub-folder of images per wnid")
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"image folder {folder} has no class sub-folders: put each class's images in a folder "
                        "named by its wnid")
    files: dict[str, list[Path]] = {}
    for path in classes:
        if path.name not in hierarchy:
            raise DataError(f"class folder {path.name!r} in {folder} is not a node of the class hierarchy: "
                            "rename it to its wnid, remove it, or give the hierarchy that contains it")
        images = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS)
        if not images:
            raise DataError(f"class folder {path} is empty (no {', '.join(EXTENSIONS)} files): "
                            "add its images or remove the folder")
        files[path.name] = images
    return files


def read_image(path: Path, size: int) -> np.ndarray:
    """One image as uint8 [3, size, size]: shorter side resized to `size`, then centre-cropped."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            rgb = image.convert("RGB")
            width, height = rgb.size
            ratio = size / min(width, height)
            resized = rgb.resize((max(size, round(width * ratio)), max(size, round(height * ratio))),
                                   Image.Resampling.BILINEAR)
    except (OSError, UnidentifiedImageError) as err:
        raise DataError(f"cannot read image {path}: {err}") from None
    left, top = (resized.width - size) // 2, (resized.height - size) // 2
    pixels = np.asarray(resized.crop((left, top, left + size, top + size)), dtype=np.uint8)
    return pixels.transpose(2, 0, 1)


def load_image_folder(root: str | Path, hierarchy: Hierarchy, *, size: int = 32,
                      classes: Sequence[str] | None = None, progress: bool = True) -> ImageDataset:
    """Every image under `root` (or only `classes`' folders), labelled by folder, as uint8 [N, 3, size, size]."""
    if size < 1:
        raise SpecError(f"image size must be positive, got {size}")
    files = class_folders(root, hierarchy)
    if classes is not None:
        unknown = [c for c in classes if c not in files]
        if unknown:
            raise DataError(f"class {unknown[0]!r} has no folder in {root}: give classes that have folders")
        files = {c: files[c] for c in classes}
    names = tuple(files)
    total = sum(len(paths) for paths in files.values())
    images = np.empty((total, 3, size, size), dtype=np.uint8)
    labels = np.empty(total, dtype=np.int64)
    bar = progress_bar(total, "reading images", unit="img") if progress else None
    row = 0
    for label, wnid in enumerate(names):
        for path in files[wnid]:
            images[row] = read_image(path, size)
            labels[row] = label
            row += 1
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    paths = np.asarray([str(path) for wnid in names for path in files[wnid]])
    return ImageDataset(torch.from_numpy(images), torch.from_numpy(labels), names,
                        restrict_hierarchy(hierarchy, list(names)), {"file": paths})
