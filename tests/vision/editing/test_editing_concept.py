"""Concepts and transformations: exact re-rendering on the world, the garment's shading on Fashion-MNIST-like images,
and one-line errors for concepts a dataset does not have."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tony.core.errors import SpecError
from tony.vision.data.dataset import ImageDataset
from tony.vision.data.fashion_mnist import CLASSES, fashion_hierarchy
from tony.vision.editing.concept import Concept, check_concept, concept_masks, has_concept, load_images, transform
from tony.vision.editing.spec import EditData, EditStudySpec

WORLD = EditData(world={"size": 16}, classes=("disc", "square", "plus"), train_per_class=4, test_per_class=3)


def test_a_swapped_background_changes_the_background_only_and_equals_a_fresh_render():
    train, test = load_images(WORLD)
    assert (len(train), len(test)) == (12, 9) and test.attributes["index"].tolist() == list(range(12, 21))
    concept = Concept("background")
    rows = np.array([7, 2, 3])  # out of order, with a run of two consecutive images
    snowy = transform(WORLD, train, rows, concept, "snow")
    objects = train.masks[rows][:, None].expand_as(snowy)
    assert torch.equal(snowy[objects], train.images[rows][objects])  # the object is untouched
    assert not torch.equal(snowy[~objects], train.images[rows][~objects])
    fresh = WORLD.world.generate(12, seed=0, classes=WORLD.class_names, foregrounds=WORLD.foregrounds,
                                 backgrounds=("snow",))
    assert torch.equal(snowy, fresh.images[rows])
    assert set(fresh.attributes["background"]) == {"snow"}


def test_a_texture_restricted_concept_covers_only_images_with_that_texture():
    train, _ = load_images(WORLD)
    concept = Concept("background", "road")
    present = has_concept(WORLD, train, concept)
    assert present.tolist() == (train.attributes["background"] == "road").tolist() and 0 < present.sum() < 12
    assert not concept_masks(WORLD, train, concept)[~present].any()


def fashion_like() -> tuple[EditData, ImageDataset]:
    images = torch.zeros((2, 1, 28, 28), dtype=torch.uint8)
    images[:, 0, 6:22, 8:20] = 200
    data = EditData(dataset="fashion-mnist", garment_threshold=25)
    return data, ImageDataset(images, torch.tensor([0, 3]), CLASSES, fashion_hierarchy(),
                              {"index": np.array([5, 60_005])})


def test_fashion_garments_are_shaded_by_the_pattern_and_backgrounds_painted():
    data, dataset = fashion_like()
    garment = transform(data, dataset, np.array([0, 1]), Concept("garment"), "stripes")
    inside = dataset.images[:, :, 6:22, 8:20]
    assert torch.equal(garment[:, :, :6], dataset.images[:, :, :6])  # the background is untouched
    shaded = garment[:, :, 6:22, 8:20]
    assert set(shaded.unique().tolist()) == {100, 200}  # stripes: half brightness or full
    assert (shaded < inside).any()
    assert not torch.equal(shaded[0], shaded[1])  # each image's own phase and angle
    background = transform(data, dataset, np.array([0, 1]), Concept("background"), "stripes")
    assert torch.equal(background[:, :, 6:22, 8:20], inside)
    assert set(background[:, :, :6].unique().tolist()) == {0, 128}
    again = transform(data, dataset, np.array([1]), Concept("garment"), "stripes")
    assert torch.equal(again[0], garment[1])  # seeded by the image's index, not its position


def test_concepts_a_dataset_does_not_have_are_one_line_errors():
    with pytest.raises(SpecError, match="concept 'wheel' is absent from world: its concepts are foreground, "
                                        "background"):
        check_concept(WORLD, "wheel", "snow")
    with pytest.raises(SpecError, match="concept 'background:snow' is absent from the dataset: its backgrounds are "
                                        "plain, grass, road, water, sand"):
        check_concept(WORLD, "background:snow", "bricks")
    with pytest.raises(SpecError, match="concept 'foreground' is absent from fashion-mnist"):
        check_concept(EditData(dataset="fashion-mnist"), "foreground", "stripes")
    with pytest.raises(SpecError, match="unknown style 'lava'"):
        EditStudySpec.parse({"style": "lava"})
    with pytest.raises(SpecError, match="the model does not know class 'cat'"):
        EditStudySpec.parse({"exemplar_class": "cat"})
