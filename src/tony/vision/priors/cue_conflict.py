"""Cue-conflict images and the shape-bias measure (Geirhos et al. 2019, on the generated world).

A cue-conflict image shows the shape of one class on the texture of another: image i of class a gets the texture
of class ``(a + 1 + i // K) mod K``, skipping a itself (K classes), so every ordered pair of different classes
appears equally often. The texture is the background's, or where the setting gives classes object textures
(`Setting.object_textures`), the object's own, on a uniform background: the cue-conflict images of Geirhos et al.
A model's shape bias is the fraction of its decisions that follow the shape among those that follow either cue:

    shape_bias = #(prediction == shape class) / #(prediction in {shape class, texture class})

1 is a model that decides by shape alone, 0 one that decides by texture alone.
"""

from __future__ import annotations

import numpy as np
import torch

from tony.core.errors import SpecError
from tony.core.stats import Stat, bootstrap_ci
from tony.vision.data.dataset import ImageDataset
from tony.vision.priors.settings import CONFLICT_STREAM, Setting, world_images


def conflict_classes(labels: np.ndarray, classes: int) -> np.ndarray:
    """The texture class of each cue-conflict image of shape class `labels[i]`: never its own, every other one
    equally often over consecutive runs of each class."""
    if classes < 2:
        raise SpecError("cue-conflict images need at least 2 classes")
    occurrence = np.arange(len(labels)) // classes  # image i is the (i // K)-th of its class in the world's order
    return (labels + 1 + occurrence % (classes - 1)) % classes


def cue_conflict_set(setting: Setting, n: int | None = None) -> ImageDataset:
    """`n` (default: the setting's test size) world images, each a class's shape with another class's texture (its
    background's, or its object's where the setting has object textures); labels are the shape classes, attribute
    ``cue`` the texture classes."""
    if setting.dataset != "world":
        raise SpecError("cue-conflict images are made from the generated world: use --dataset world")
    count = setting.test if n is None else n
    k = len(setting.classes)
    textures = conflict_classes(np.arange(count) % k, k)
    # The world ties one texture to each class, so render one stream per texture offset and take image i from
    # the stream of its offset (every stream shows class i % K at position i).
    layer, names = ("object", setting.object_textures) if setting.object_textures else ("background", setting.textures)
    parts = [world_images(setting, count, CONFLICT_STREAM + offset, biased=False,
                          **{f"{layer}_for_class": {c: names[(i + offset) % k] for i, c in enumerate(setting.classes)}})
             for offset in range(1, k)]
    rows = np.arange(count)
    pick = (textures - rows % k) % k - 1  # the stream (offset - 1) of each image
    first = parts[0]
    masks = None if first.masks is None else torch.stack([p.masks for p in parts])[pick, rows]  # type: ignore[misc]
    attributes = {key: np.stack([p.attributes[key] for p in parts])[pick, rows] for key in first.attributes}
    return ImageDataset(torch.stack([p.images for p in parts])[pick, rows], first.labels, first.classes,
                        first.hierarchy, {**attributes, "cue": textures}, masks)


def _bias(sample: np.ndarray) -> np.ndarray:
    """Shape bias of resampled (follows shape, follows texture) rows: (R, n, 2) -> (R,)."""
    shape, texture = sample[..., 0].sum(-1), sample[..., 1].sum(-1)
    return shape / np.maximum(shape + texture, 1e-12)


def shape_bias(follows_shape: np.ndarray, follows_texture: np.ndarray, *, split: str = "", seed: int = 0) -> Stat:
    """The shape-bias stat with its 95% bootstrap interval over cue-conflict images (values may be means over
    seeds, each in [0, 1]); n is the number of images."""
    rows = np.stack([np.asarray(follows_shape, float), np.asarray(follows_texture, float)], axis=1)
    value = float(_bias(rows[None])[0])
    low, high = bootstrap_ci(rows, _bias, seed=seed)
    return Stat("shape_bias", value, low, high, len(rows), split)
