"""A labelled image dataset with a class hierarchy, optional per-image attributes and object masks.

    data = ShapeWorld().generate(4000, seed=0)
    data.images.shape, data.labels[:3], data.classes[:3]   # (4000, 3, 32, 32) uint8, ..., ('disc', ...)
    source = data.relabel({"round": ["disc", "crescent"], "star": ["star-3", "star-8"]})
    source.classes, source.attributes["subclass"][:3]      # ('round', 'star'), ['disc' 'crescent' 'star-3']

`relabel` is what a BREEDS split needs: keep the images of some subclasses and label each by its
superclass, remembering the subclass for per-subclass accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from tony.core.errors import DataError, SpecError
from tony.vision.hierarchy import Hierarchy

Index = slice | Sequence[int] | np.ndarray | torch.Tensor


def image_shape(dataset: str, world_side: int, image_size: int = 32) -> tuple[int, int]:
    """(channels, side) of the images of a named source: the generated world at its side, Fashion-MNIST's 1 x 28,
    or an image folder (ImageNet) resized to `image_size`."""
    if dataset == "world":
        return 3, world_side
    return (1, 28) if dataset == "fashion-mnist" else (3, image_size)


def restrict_hierarchy(hierarchy: Hierarchy, leaves: Sequence[str]) -> Hierarchy:
    """The part of `hierarchy` above `leaves`: those nodes and their ancestors, so `leaves` become its leaves.

    A node of `leaves` may be an inner node (a superclass): what lies below it is dropped.
    """
    keep = set(leaves)
    for node in leaves:
        keep |= hierarchy.ancestors(node)
    for node in leaves:
        below = hierarchy.descendants(node) & set(leaves)
        if below:
            raise SpecError(f"class {node!r} is an ancestor of class {sorted(below)[0]!r}: "
                            "the classes of a dataset must not contain one another")
    edges = [(p, c) for p, c in hierarchy.edges if p in keep and c in keep and p not in leaves]
    if not edges:  # a single class: hang it under the root so the hierarchy still has an edge
        if hierarchy.root == leaves[0]:
            raise SpecError(f"class {leaves[0]!r} is the hierarchy's root: pick classes below it")
        edges = [(hierarchy.root, leaves[0])]
    return Hierarchy(edges, {node: hierarchy.name(node) for node in keep})


def _as_index(index: Index, n: int) -> torch.Tensor:
    if isinstance(index, slice):
        return torch.arange(n)[index]
    tensor = torch.as_tensor(np.asarray(index) if not isinstance(index, torch.Tensor) else index)
    if tensor.dtype == torch.bool:
        return tensor.nonzero().squeeze(1)
    return tensor.long()


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """Images with integer labels into `classes`, the leaves of `hierarchy`."""

    images: torch.Tensor
    """[N, C, H, W], uint8 (0-255) or float (0-1)."""
    labels: torch.Tensor
    """[N] int64, an index into `classes`."""
    classes: tuple[str, ...]
    """Class ids (hierarchy node ids), in label order."""
    hierarchy: Hierarchy
    """A hierarchy whose leaves are exactly `classes`."""
    attributes: Mapping[str, np.ndarray] = field(default_factory=dict)
    """Per-image attributes (first dimension N), e.g. the generated world's shape, textures, colour."""
    masks: torch.Tensor | None = None
    """[N, H, W] bool object masks, where known."""

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.images.ndim != 4:
            raise DataError(f"images must be shaped [N, C, H, W], got {tuple(self.images.shape)}")
        if self.labels.shape != (n,):
            raise DataError(f"need one label per image: {n} images, labels shaped {tuple(self.labels.shape)}")
        if n and (int(self.labels.min()) < 0 or int(self.labels.max()) >= len(self.classes)):
            raise DataError(f"labels must index the {len(self.classes)} classes")
        if sorted(self.classes) != self.hierarchy.leaves:
            raise DataError("the dataset's classes must be exactly its hierarchy's leaves")
        for name, values in self.attributes.items():
            if len(values) != n:
                raise DataError(f"attribute {name!r} has {len(values)} values for {n} images")
        if self.masks is not None and (self.masks.dtype != torch.bool or self.masks.shape != (
                n, *self.images.shape[2:])):
            raise DataError(f"masks must be bool [N, H, W] matching the images, got {tuple(self.masks.shape)}")

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return (f"ImageDataset({len(self)} images {tuple(self.images.shape[1:])} {self.images.dtype}, "
                f"{len(self.classes)} classes, attributes={sorted(self.attributes)}, masks={self.masks is not None})")

    @property
    def class_names(self) -> list[str]:
        """Human names of the classes, in label order."""
        return [self.hierarchy.name(c) for c in self.classes]

    def class_counts(self) -> np.ndarray:
        """Images per class, in label order."""
        return np.bincount(self.labels.numpy(), minlength=len(self.classes))

    def float_images(self) -> torch.Tensor:
        """The images as float32 in [0, 1]."""
        return self.images.float().div_(255.0) if self.images.dtype == torch.uint8 else self.images.float()

    def subset(self, index: Index) -> ImageDataset:
        """The images at `index` (a slice, positions or a bool mask), with the same classes."""
        idx = _as_index(index, len(self))
        picked = idx.numpy()
        return ImageDataset(self.images[idx], self.labels[idx], self.classes, self.hierarchy,
                            {k: v[picked] for k, v in self.attributes.items()},
                            None if self.masks is None else self.masks[idx])

    def with_classes(self, classes: Sequence[str]) -> ImageDataset:
        """Only the images of `classes`, relabelled by their position in `classes`."""
        return self.relabel({c: [c] for c in classes}, keep_subclass=False)

    def relabel(self, groups: Mapping[str, Sequence[str]], *, keep_subclass: bool = True) -> ImageDataset:
        """Keep the images whose class is in one of `groups` (superclass -> its classes) and label each by
        its group; the new classes are the groups' keys, in order.

        With `keep_subclass`, attribute "subclass" holds each image's class before relabelling.
        """
        position = {c: i for i, c in enumerate(self.classes)}
        mapping = np.full(len(self.classes), -1, dtype=np.int64)
        for new_label, members in enumerate(groups.values()):
            for member in members:
                if member not in position:
                    raise SpecError(f"class {member!r} is not one of this dataset's classes "
                                    f"({', '.join(self.classes[:6])}{', ...' if len(self.classes) > 6 else ''})")
                if mapping[position[member]] >= 0:
                    raise SpecError(f"class {member!r} is in two groups: put each class in one group only")
                mapping[position[member]] = new_label
        if not groups:
            raise SpecError("relabel needs at least one group of classes")
        new_labels = torch.from_numpy(mapping)[self.labels]
        keep = (new_labels >= 0).nonzero().squeeze(1)
        picked = keep.numpy()
        attributes = {k: v[picked] for k, v in self.attributes.items()}
        if keep_subclass:
            attributes["subclass"] = np.asarray(self.classes)[self.labels[keep].numpy()]
        return ImageDataset(self.images[keep], new_labels[keep], tuple(groups),
                            restrict_hierarchy(self.hierarchy, list(groups)), attributes,
                            None if self.masks is None else self.masks[keep])

    def split(self, fraction: float, seed: int) -> tuple[ImageDataset, ImageDataset]:
        """A seeded split stratified by class: about `fraction` of each class's images go to the first part."""
        if not 0.0 < fraction < 1.0:
            raise SpecError(f"split fraction must be between 0 and 1, got {fraction}")
        rng = np.random.default_rng(seed)
        labels = self.labels.numpy()
        first: list[np.ndarray] = []
        for label in range(len(self.classes)):
            members = np.flatnonzero(labels == label)
            first.append(rng.permutation(members)[: int(round(fraction * len(members)))])
        chosen = np.zeros(len(self), dtype=bool)
        chosen[np.concatenate(first)] = True
        return self.subset(chosen), self.subset(~chosen)
