"""ImageDataset: validation, subsets, relabelling subclasses to superclasses, stratified splits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tony.core.errors import DataError, SpecError, TonyError
from tony.vision.data import ImageDataset, ShapeWorld, restrict_hierarchy
from tony.vision.hierarchy import Hierarchy

HIERARCHY = Hierarchy([("root", "animal"), ("root", "vehicle"), ("animal", "cat"), ("animal", "dog"),
                       ("vehicle", "car"), ("vehicle", "bus"), ("vehicle", "bike")],
                      {"cat": "house cat", "animal": "animal"})
CLASSES = ("cat", "dog", "car", "bus", "bike")


def _toy(n_per_class: int = 6) -> ImageDataset:
    labels = torch.arange(len(CLASSES)).repeat(n_per_class)
    images = labels.to(torch.uint8)[:, None, None, None].expand(-1, 1, 2, 2).clone()  # pixel value = label
    return ImageDataset(images, labels, CLASSES, HIERARCHY, {"id": np.arange(len(labels))},
                        torch.zeros(len(labels), 2, 2, dtype=torch.bool))


def test_relabel_to_superclasses_keeps_the_subclass():
    data = _toy()
    source = data.relabel({"vehicle": ["car", "bike"], "animal": ["dog"]})
    assert source.classes == ("vehicle", "animal")
    assert len(source) == 18
    assert source.hierarchy.leaves == ["animal", "vehicle"] and source.hierarchy.root == "root"
    original = np.asarray(CLASSES)[source.images[:, 0, 0, 0].numpy()]  # the pixel value still names the class
    assert np.array_equal(source.attributes["subclass"], original)
    expected = np.where(np.isin(original, ["car", "bike"]), 0, 1)
    assert np.array_equal(source.labels.numpy(), expected)
    assert source.masks is not None and len(source.masks) == 18
    kept = np.isin(np.asarray(CLASSES)[data.labels.numpy()], ["car", "bike", "dog"])
    assert np.array_equal(source.attributes["id"], data.attributes["id"][kept])


def test_with_classes_relabels_by_position_and_cuts_the_hierarchy():
    data = _toy(3).with_classes(["bus", "cat"])
    assert data.classes == ("bus", "cat") and data.class_counts().tolist() == [3, 3]
    assert set(data.images[data.labels == 0, 0, 0, 0].tolist()) == {3}
    assert data.hierarchy.leaves == ["bus", "cat"]
    assert data.hierarchy.name("cat") == "house cat"
    assert "subclass" not in data.attributes


def test_subset_accepts_slices_positions_and_masks():
    data = _toy(2)
    assert len(data.subset(slice(0, 4))) == 4
    assert data.subset([9, 0]).labels.tolist() == [4, 0]
    picked = data.subset(data.labels == 2)
    assert picked.labels.tolist() == [2, 2] and picked.attributes["id"].tolist() == [2, 7]


def test_split_is_stratified_disjoint_and_seeded():
    data = _toy(10)
    first, second = data.split(0.7, seed=3)
    assert first.class_counts().tolist() == [7] * 5 and second.class_counts().tolist() == [3] * 5
    assert not set(first.attributes["id"]) & set(second.attributes["id"])
    again, _ = data.split(0.7, seed=3)
    other, _ = data.split(0.7, seed=4)
    assert np.array_equal(first.attributes["id"], again.attributes["id"])
    assert not np.array_equal(first.attributes["id"], other.attributes["id"])


def test_float_images_scale_uint8_to_unit_range():
    data = ShapeWorld().generate(8, seed=0)
    floats = data.float_images()
    assert floats.dtype == torch.float32 and 0.0 <= floats.min() and floats.max() <= 1.0
    assert torch.allclose(floats * 255, data.images.float())


def test_restrict_hierarchy_to_inner_nodes_and_single_leaves():
    cut = restrict_hierarchy(HIERARCHY, ["vehicle"])
    assert cut.leaves == ["vehicle"] and cut.root == "root"
    with pytest.raises(SpecError, match="ancestor"):
        restrict_hierarchy(HIERARCHY, ["vehicle", "car"])
    with pytest.raises(TonyError, match="unknown node"):
        restrict_hierarchy(HIERARCHY, ["truck"])


@pytest.mark.parametrize(("groups", "message"), [
    ({"vehicle": ["truck"]}, "not one of"),
    ({"vehicle": ["car"], "animal": ["car"]}, "two groups"),
    ({}, "at least one"),
])
def test_bad_relabel_groups(groups, message):
    with pytest.raises(SpecError, match=message):
        _toy().relabel(groups)


def test_inconsistent_datasets_are_refused():
    images = torch.zeros(4, 1, 2, 2, dtype=torch.uint8)
    with pytest.raises(DataError, match="one label per image"):
        ImageDataset(images, torch.zeros(3, dtype=torch.long), CLASSES, HIERARCHY)
    with pytest.raises(DataError, match="index"):
        ImageDataset(images, torch.full((4,), 5), CLASSES, HIERARCHY)
    with pytest.raises(DataError, match="leaves"):
        ImageDataset(images, torch.zeros(4, dtype=torch.long), CLASSES[:3], HIERARCHY)
    with pytest.raises(DataError, match="attribute"):
        ImageDataset(images, torch.zeros(4, dtype=torch.long), CLASSES, HIERARCHY, {"a": np.zeros(3)})
    with pytest.raises(DataError, match="masks"):
        ImageDataset(images, torch.zeros(4, dtype=torch.long), CLASSES, HIERARCHY, masks=torch.zeros(4, 2, 2))
