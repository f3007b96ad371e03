"""Concepts and transformations: where a concept is in an image (a mask) and the image with it replaced by a texture.

On the generated world both are exact: the concept is the object (``foreground``) or everything else
(``background``), optionally only in images whose region has one texture (``background:grass``), and the
transformation renders the same image again with that region in the style's texture (the world draws
every random number whatever the textures, so nothing else changes). On Fashion-MNIST the concept is the
``garment`` (pixels above `garment_threshold`) or the ``background``; the transformation shades the garment
with the style's pattern (as the world shades objects) or paints the pattern on the background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from tony.core.errors import SpecError
from tony.vision.data import textures
from tony.vision.data.dataset import ImageDataset
from tony.vision.editing.spec import EditData

WORLD_REGIONS = ("foreground", "background")
FASHION_REGIONS = ("garment", "background")
FASHION_TEST_OFFSET = 60_000
"""Fashion-MNIST test images are numbered after the 60,000 training images (their texture draws differ)."""
BACKGROUND_PEAK = 128.0
"""Fashion-MNIST: a painted background's brightest pixel (0-255)."""


@dataclass(frozen=True)
class Concept:
    """A region of an image and, on the world, optionally the texture the region must have."""

    region: str
    """foreground or background (world), garment or background (fashion-mnist)."""
    texture: str | None = None
    """world only: the concept is in the images whose region has this texture ("background:grass")."""

    @classmethod
    def parse(cls, text: str) -> Concept:
        region, _, texture = text.partition(":")
        return cls(region, texture or None)


def check_concept(data: EditData, concept: str, style: str) -> Concept:
    """The parsed concept after checking that it and the style exist for `data`; a SpecError says what does."""
    parsed = Concept.parse(concept)
    regions = WORLD_REGIONS if data.dataset == "world" else FASHION_REGIONS
    if parsed.region not in regions:
        raise SpecError(f"concept '{concept}' is absent from {data.dataset}: its concepts are {', '.join(regions)}"
                        + (" (optionally :TEXTURE, e.g. background:grass)" if data.dataset == "world" else ""))
    if style not in textures.NAMES:
        raise SpecError(f"unknown style '{style}': choose a texture from {', '.join(textures.NAMES)}")
    if parsed.texture is not None:
        if data.dataset != "world":
            raise SpecError(f"concept '{concept}': only the world's concepts name a texture; use {parsed.region}")
        present = data.backgrounds if parsed.region == "background" else data.foregrounds
        if parsed.texture not in present:
            raise SpecError(f"concept '{concept}' is absent from the dataset: its {parsed.region}s are "
                            f"{', '.join(present)}")
    return parsed


def load_images(data: EditData) -> tuple[ImageDataset, ImageDataset]:
    """The training and test images (attribute "index" numbers each image for its transformation)."""
    classes = data.class_names
    if data.dataset == "world":
        n_train, n_test = data.train_per_class * len(classes), data.test_per_class * len(classes)
        return tuple(data.world.generate(n, seed=data.seed, start=start, classes=classes, foregrounds=data.foregrounds,
                                         backgrounds=data.backgrounds)
                     for n, start in ((n_train, 0), (n_test, n_train)))  # type: ignore[return-value]
    from tony.vision.breeds.study_data import cap_per_class
    from tony.vision.data.fashion_mnist import load_fashion_mnist

    parts = []
    for split, limit, offset in (("train", data.train_per_class, 0), ("test", data.test_per_class,
                                                                        FASHION_TEST_OFFSET)):
        full = load_fashion_mnist(data.path, split) if data.path else load_fashion_mnist(split=split)
        numbered = ImageDataset(full.images, full.labels, full.classes, full.hierarchy,
                                {"index": np.arange(len(full)) + offset})
        unknown = [c for c in classes if c not in full.classes]
        if unknown:
            raise SpecError(f"Fashion-MNIST has no class '{unknown[0]}': its classes are {', '.join(full.classes)}")
        parts.append(cap_per_class(numbered.with_classes(classes), limit, data.seed))
    return parts[0], parts[1]


def concept_masks(data: EditData, dataset: ImageDataset, concept: Concept) -> torch.Tensor:
    """[N, H, W] bool: where the concept is in each image (all False in images without it)."""
    if data.dataset == "world":
        assert dataset.masks is not None  # the world always has masks
        masks = dataset.masks if concept.region == "foreground" else ~dataset.masks
    else:
        garment = dataset.images[:, 0] > data.garment_threshold
        masks = garment if concept.region == "garment" else ~garment
    if concept.texture is not None:
        masks = masks & torch.from_numpy(dataset.attributes[concept.region] == concept.texture)[:, None, None]
    return masks


def has_concept(data: EditData, dataset: ImageDataset, concept: Concept) -> np.ndarray:
    """[N] bool: the images in which the concept covers at least one pixel."""
    return concept_masks(data, dataset, concept).flatten(1).any(1).numpy()


def transform(data: EditData, dataset: ImageDataset, rows: np.ndarray, concept: Concept, style: str) -> torch.Tensor:
    """uint8 [len(rows), C, H, W]: the images at `rows` with the concept's region replaced by `style`."""
    rows = np.asarray(rows, dtype=np.int64)
    if data.dataset == "world":
        return _rerender(data, dataset.attributes["index"][rows], concept.region, style)
    return _shade(data, dataset.images[rows], dataset.attributes["index"][rows],
                  concept_masks(data, dataset.subset(rows), concept), style, concept.region == "garment")


def _rerender(data: EditData, indices: np.ndarray, region: str, style: str) -> torch.Tensor:
    """The world's images `indices` of the data's stream rendered again with `style` in `region`."""
    swapped = (style,)
    foregrounds = swapped if region == "foreground" else data.foregrounds
    backgrounds = swapped if region == "background" else data.backgrounds
    order = np.argsort(indices, kind="stable")
    ordered = indices[order]
    out = torch.empty((len(indices), 3, data.world.size, data.world.size), dtype=torch.uint8)
    start = 0
    while start < len(ordered):  # one render per run of consecutive indices
        stop = start + 1
        while stop < len(ordered) and ordered[stop] == ordered[stop - 1] + 1:
            stop += 1
        images = data.world.generate(stop - start, seed=data.seed, start=int(ordered[start]), classes=data.class_names,
                                     foregrounds=foregrounds, backgrounds=backgrounds).images
        out[torch.from_numpy(order[start:stop])] = images
        start = stop
    return out


def _shade(data: EditData, images: torch.Tensor, indices: np.ndarray, masks: torch.Tensor, style: str,
           garment: bool) -> torch.Tensor:
    """Fashion-MNIST images with `style`'s pattern shading the masked pixels (garment) or painted there
    (background); each image's pattern draws are seeded by (data seed, its index)."""
    n, side = len(images), images.shape[-1]
    noise = np.empty((n, side, side), dtype=np.float32)
    coarse = np.empty((n, 1, 6, 6), dtype=np.float32)
    params = np.empty((n, textures.PARAMS), dtype=np.float32)
    for i, index in enumerate(indices):
        rng = np.random.default_rng([data.seed, int(index)])
        noise[i], coarse[i, 0], params[i] = rng.random((side, side)), rng.random((6, 6)), rng.random(textures.PARAMS)
    smooth = torch.nn.functional.interpolate(torch.from_numpy(coarse), size=(side, side), mode="bilinear",
                                             align_corners=False)[:, 0].numpy()
    pixel = (np.arange(side, dtype=np.float32) + 0.5) / side * 2.0 - 1.0
    plane_x, plane_y = pixel.reshape(1, 1, side) * textures.UNITS, -pixel.reshape(1, side, 1) * textures.UNITS
    inputs = textures.TextureInputs(np.broadcast_to(plane_x, (1, side, side)),
                                    np.broadcast_to(plane_y, (1, side, side)), noise, smooth, params)
    pattern = torch.from_numpy(textures.patterns(np.full(n, textures.NAMES.index(style)), inputs))[:, None]
    original = images.float()
    if garment:
        changed = original * (textures.FOREGROUND_FLOOR + (1.0 - textures.FOREGROUND_FLOOR) * pattern)
    else:
        changed = BACKGROUND_PEAK * pattern.expand_as(original)
    return torch.where(masks[:, None], changed.round().clamp(0, 255), original).to(torch.uint8)

