"""Settings (the spurious cue in the labeled set only), cue-conflict images, shape bias and pseudo-label selection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tony.core.errors import SpecError
from tony.vision.data.dataset import ImageDataset
from tony.vision.hierarchy import Hierarchy
from tony.vision.priors.cue_conflict import conflict_classes, cue_conflict_set, shape_bias
from tony.vision.priors.selection import growing_fraction, select_pseudo_labels
from tony.vision.priors.settings import Setting, make_setting, mark_columns, with_mark

SMALL = {"labeled": 400, "unlabeled": 400, "test": 400, "world": {"size": 16, "min_scale": 0.6, "max_scale": 0.9}}


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0])
def test_the_cue_follows_the_class_in_the_labeled_set_only(p):
    data = make_setting(Setting.parse({**SMALL, "spurious": p}), seed=0)
    k = 4
    agree = {name: np.mean(part.attributes["cue"] == part.labels.numpy())
             for name, part in (("labeled", data.labeled), ("unlabeled", data.unlabeled), ("test", data.test))}
    expected = p + (1 - p) / k
    assert agree["labeled"] == pytest.approx(expected, abs=0.06)
    assert agree["unlabeled"] == pytest.approx(1 / k, abs=0.06) and agree["test"] == pytest.approx(1 / k, abs=0.06)
    if p == 1.0:
        assert agree["labeled"] == 1.0
    # the cue attribute is the class whose texture is the background
    textures = np.asarray(Setting().textures)
    assert (textures[data.labeled.attributes["cue"]] == data.labeled.attributes["background"]).all()
    assert (data.labeled.attributes["foreground"] == "plain").all()


OBJECTS = ("road", "water", "bricks", "dots")


@pytest.mark.parametrize("q", [0.0, 0.6, 1.0])
def test_object_textures_follow_the_class_as_often_in_every_set(q):
    """The genuine texture cue: in every set an object shows its class's texture with probability q + (1 - q) / K,
    independently of the background, which still follows the class in the labeled set only (p = 0.9)."""
    data = make_setting(Setting.parse({**SMALL, "spurious": 0.9, "object_textures": OBJECTS, "object_tie": q}), 0)
    for part in (data.labeled, data.unlabeled, data.test):
        own = np.asarray(OBJECTS)[part.labels.numpy()] == part.attributes["foreground"]
        assert own.mean() == pytest.approx(q + (1 - q) / 4, abs=0.06)
        assert set(part.attributes["foreground"]) <= set(OBJECTS)
    background = {name: np.mean(part.attributes["cue"] == part.labels.numpy())
                  for name, part in (("labeled", data.labeled), ("test", data.test))}
    assert background["labeled"] == pytest.approx(0.925, abs=0.06)
    assert background["test"] == pytest.approx(0.25, abs=0.06)


def test_seeds_draw_new_training_images_but_keep_the_test_set():
    setting = Setting.parse({**SMALL, "labeled": 8, "unlabeled": 8, "test": 8})
    first, second = make_setting(setting, 0), make_setting(setting, 1)
    assert torch.equal(first.test.images, second.test.images)
    assert not torch.equal(first.labeled.images, second.labeled.images)
    assert not torch.equal(first.labeled.images, first.unlabeled.images)


@pytest.mark.parametrize(("fields", "message"), [
    ({"spurious": 1.5}, r"spurious correlation p must be in \[0, 1\], got 1.5"),
    ({"spurious": -0.1}, r"must be in \[0, 1\]"),
    ({"labeled": 3}, "cannot show each of the 4 classes"),
    ({"textures": ["plain", "grass"]}, "one background texture per class"),
    ({"dataset": "fashion-mnist", "labeled": 50_000, "unlabeled": 20_000}, "Fashion-MNIST has 60,000 training"),
    ({"dataset": "fashion-mnist", "test": 20_000}, "ask for fewer"),
    ({"object_textures": ["road", "water"]}, "2 textures for 4 classes: give one per class"),
    ({"object_textures": ["road", "water", "grass", "dots"]}, "share grass: a texture must tell either"),
    ({"object_textures": ["road", "water", "bricks", "dots"], "object_tie": 1.2}, r"object_tie q must be in \[0, 1\]"),
])
def test_bad_settings_are_one_line_errors(fields, message):
    with pytest.raises(SpecError, match=message):
        Setting.parse(fields)


def test_the_fashion_mark_sits_at_the_class_place():
    hierarchy = Hierarchy([("root", "a"), ("root", "b"), ("root", "c")], {})
    data = ImageDataset(torch.zeros(30, 1, 28, 28, dtype=torch.uint8), torch.arange(30) % 3, ("a", "b", "c"),
                        hierarchy)
    marked = with_mark(data, 1.0, np.random.default_rng(0))
    columns = mark_columns(3)
    for i in range(30):
        label = i % 3
        assert marked.attributes["cue"][i] == label
        assert (marked.images[i, 0, 1:3, columns[label]:columns[label] + 2] == 255).all()
        assert int(marked.images[i].sum()) == 4 * 255  # the 2x2 mark only
    uniform = with_mark(data, None, np.random.default_rng(0))
    assert 0 < np.mean(uniform.attributes["cue"] == data.labels.numpy()) < 1


def test_cue_conflict_images_keep_shape_and_texture_from_the_named_classes():
    setting = Setting.parse({**SMALL, "test": 48})
    conflict = cue_conflict_set(setting)
    labels, cues = conflict.labels.numpy(), conflict.attributes["cue"]
    assert (labels != cues).all()
    assert (conflict.attributes["shape"] == np.asarray(setting.classes)[labels]).all()
    assert (conflict.attributes["background"] == np.asarray(setting.textures)[cues]).all()
    pairs = {}
    for a, b in zip(labels, cues, strict=True):
        pairs[(a, b)] = pairs.get((a, b), 0) + 1
    assert len(pairs) == 12 and set(pairs.values()) == {4}  # every ordered pair of 4 classes, 48 / 12 times each
    assert (conflict.masks.sum((1, 2)) > 0).all()
    assert conflict_classes(np.array([0, 1, 2, 0, 1, 2]), 3).tolist() == [1, 2, 0, 2, 0, 1]
    with pytest.raises(SpecError, match="use --dataset world"):
        cue_conflict_set(Setting.parse({"dataset": "fashion-mnist"}))


def test_with_object_textures_the_conflict_is_the_object_s_texture():
    setting = Setting.parse({**SMALL, "test": 48, "object_textures": OBJECTS, "object_tie": 0.0})
    conflict = cue_conflict_set(setting)
    labels, cues = conflict.labels.numpy(), conflict.attributes["cue"]
    assert (labels != cues).all()
    assert (conflict.attributes["foreground"] == np.asarray(OBJECTS)[cues]).all()  # always, whatever q
    assert 0 < np.mean(conflict.attributes["background"] == np.asarray(setting.textures)[labels]) < 0.5  # uniform
    assert len(set(zip(labels, cues, strict=True))) == 12


def test_shape_bias_by_hand():
    # 3 decisions follow the shape, 1 the texture, 1 neither: 3 / 4.
    stat = shape_bias(np.array([1, 1, 1, 0, 0]), np.array([0, 0, 0, 1, 0]), split="edges")
    assert (stat.name, stat.split, stat.value, stat.n) == ("shape_bias", "edges", 0.75, 5)
    assert 0.0 <= stat.ci_low <= 0.75 <= stat.ci_high <= 1.0


def test_pseudo_labels_are_class_balanced_and_monotone_in_confidence():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(300, 3)) * 2
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    chosen = select_pseudo_labels(probabilities, 0.3)
    predicted, confidence = probabilities.argmax(1), probabilities.max(1)
    assert np.bincount(chosen.labels, minlength=3).tolist() == [30, 30, 30]
    assert (chosen.labels == predicted[chosen.index]).all()
    for label in range(3):
        inside = chosen.index[chosen.labels == label]
        outside = np.setdiff1d(np.flatnonzero(predicted == label), inside)
        assert confidence[inside].min() >= confidence[outside].max()
    more = select_pseudo_labels(probabilities, 0.6)
    assert set(chosen.index) <= set(more.index)  # a larger fraction only adds images
    floor = select_pseudo_labels(probabilities, 1.0, min_confidence=0.9)
    assert (confidence[floor.index] >= 0.9).all()
    assert len(select_pseudo_labels(probabilities, 0.0).index) == 0


def test_pseudo_labels_by_hand():
    probabilities = np.array([[0.9, 0.1], [0.6, 0.4], [0.7, 0.3], [0.2, 0.8], [0.45, 0.55], [0.3, 0.7]])
    chosen = select_pseudo_labels(probabilities, 4 / 6)  # 2 per class
    assert chosen.index.tolist() == [0, 2, 3, 5] and chosen.labels.tolist() == [0, 0, 1, 1]
    assert [growing_fraction(r, 4, 0.8) for r in (1, 2, 4)] == pytest.approx([0.2, 0.4, 0.8])
    with pytest.raises(SpecError, match="fraction"):
        select_pseudo_labels(probabilities, 1.5)
