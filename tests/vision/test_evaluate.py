"""Evaluation: accuracy per class and per subclass against a direct count; retraining only the last layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tony.core.errors import DataError, SpecError
from tony.vision.evaluate import evaluate, features, group_accuracy, predict, retrain_last_layer
from tony.vision.models import build_model


def test_per_class_and_per_subclass_accuracy_match_a_direct_count():
    model = build_model("resnet8", num_classes=3, width=4, seed=0).eval()
    generator = torch.Generator().manual_seed(0)
    pictures = torch.randint(0, 256, (50, 3, 8, 8), generator=generator, dtype=torch.uint8)
    labels = torch.randint(0, 3, (50,), generator=generator)
    subclasses = np.array([f"sub{i % 7}" for i in range(50)])
    result = evaluate(model, pictures, labels, classes=("a", "b", "c"), subclasses=subclasses, batch_size=16)
    predicted = predict(model, pictures).argmax(1)  # one pass, not batched: the same predictions
    assert np.array_equal(result.predictions, predicted.numpy())
    for name, group in result.per_subclass.items():
        rows = [i for i in range(50) if subclasses[i] == name]
        assert group.n == len(rows) and group.correct == sum(int(predicted[i] == labels[i]) for i in rows)
    for label, name in enumerate("abc"):
        rows = [i for i in range(50) if labels[i] == label]
        hits = sum(int(predicted[i] == label) for i in rows)
        assert (result.per_class[name].correct, result.per_class[name].n) == (hits, len(rows))
    assert result.accuracy == pytest.approx(float((predicted == labels).float().mean())) and result.n == 50
    assert sum(g.n for g in result.per_subclass.values()) == 50


def test_group_accuracy_and_empty_input():
    groups = group_accuracy(np.array([True, False, True, True]), ["x", "y", "x", "y"])
    assert {k: (g.correct, g.n, g.accuracy) for k, g in groups.items()} == {"x": (2, 2, 1.0), "y": (1, 2, 0.5)}
    with pytest.raises(DataError, match="one group per prediction"):
        group_accuracy(np.array([True]), ["x", "y"])
    model = build_model("resnet8", num_classes=3, width=4)
    with pytest.raises(DataError, match="evaluation set is empty"):
        predict(model, torch.zeros(0, 3, 8, 8))


def test_retraining_the_last_layer_fits_new_labels_and_changes_nothing_else():
    model = build_model("resnet8", num_classes=2, width=8, seed=0).eval()
    generator = torch.Generator().manual_seed(1)
    pictures = torch.rand(150, 3, 8, 8, generator=generator)
    score = features(model, pictures)[:, 0]
    distance = (score - score.median()).abs()
    pictures, score = pictures[distance > distance.quantile(0.2)], score[distance > distance.quantile(0.2)]
    new_labels = (score > score.median()).long()  # a threshold on one feature, with a margin around it
    retrained = retrain_last_layer(model, pictures, new_labels, epochs=150, lr=0.05, weight_decay=0.0, seed=0)
    before, after = model.state_dict(), retrained.state_dict()
    assert {k for k in before if not torch.equal(before[k], after[k])} == {"stages.fc.weight", "stages.fc.bias"}
    # A linear layer on the frozen features separates them.
    assert evaluate(retrained, pictures, new_labels).accuracy > 0.95
    again = retrain_last_layer(model, pictures, new_labels, epochs=150, lr=0.05, weight_decay=0.0, seed=0)
    assert torch.equal(again.head.weight, retrained.head.weight)  # seeded
    with pytest.raises(SpecError, match="epochs >= 1"):
        retrain_last_layer(model, pictures, new_labels, epochs=0)
