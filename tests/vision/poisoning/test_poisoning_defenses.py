"""Each defense on a case with a known answer: spectral signatures and activation clustering on planted outliers,
STRIP on a trigger that fixes the prediction, fine-pruning's mask and floor, fine-tuning's determinism."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tony.vision.models import build_model
from tony.vision.poisoning.defenses.activation_clustering import cluster_filter
from tony.vision.poisoning.defenses.base import DefenseInput, logits
from tony.vision.poisoning.defenses.fine_pruning import FinePruning, last_conv_stage, pruned
from tony.vision.poisoning.defenses.finetune import fine_tune
from tony.vision.poisoning.defenses.spectral import outlier_scores, spectral_filter
from tony.vision.poisoning.defenses.strip import Strip


def planted(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Two classes of 200 Gaussian feature vectors; 20 of class 1 shifted far along one direction (the poisons)."""
    generator = torch.Generator().manual_seed(seed)
    feats = torch.randn(400, 16, generator=generator)
    labels = torch.arange(400) % 2
    poisons = np.zeros(400, dtype=bool)
    poisons[np.flatnonzero(labels.numpy() == 1)[:20]] = True
    feats[torch.from_numpy(poisons), 3] += 12.0
    return feats, labels, poisons


def test_outlier_scores_are_squared_projections_on_the_top_direction():
    feats = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [3.0, 0.1], [-3.0, -0.1]])
    scores = outlier_scores(feats)
    # The scores sum to the largest eigenvalue of X'X = [[20, 0.6], [0.6, 0.02]]: (20.02 + sqrt(19.98^2 + 1.44)) / 2.
    assert np.argsort(-scores)[:2].tolist() in ([2, 3], [3, 2])
    assert np.isclose(scores.sum(), (20.02 + np.sqrt(19.98 ** 2 + 1.44)) / 2)


def test_spectral_signatures_remove_the_planted_outliers():
    feats, labels, poisons = planted()
    removed = spectral_filter(feats, labels, budget=0.1)  # 1.5 x 10% of 200 = 30 removed per class
    assert removed[poisons].all()
    assert removed[labels.numpy() == 0].sum() == 30 and removed[labels.numpy() == 1].sum() == 30


def test_activation_clustering_removes_the_small_cluster_only():
    feats, labels, poisons = planted()
    removed = cluster_filter(feats, labels, dims=4, seed=0)
    assert np.array_equal(removed, poisons)  # class 0 splits into two large halves: nothing removed there


class TriggerFixes(nn.Module):
    """A bright top-left pixel (> 0.4) forces class 0 with certainty; otherwise a fixed random linear map of the
    image (its prediction moves with whatever is superimposed)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(64, 5)
        with torch.no_grad():
            self.linear.weight.copy_(torch.randn(5, 64, generator=torch.Generator().manual_seed(3)) * 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear(x.flatten(1))
        fixed = torch.tensor([50.0, 0, 0, 0, 0]).expand_as(out)
        return torch.where((x[:, 0, 0, 0] > 0.4)[:, None], fixed, out)


def test_strip_rejects_triggered_inputs_and_keeps_its_false_rejection_rate():
    generator = torch.Generator().manual_seed(0)
    clean = torch.randint(0, 256, (200, 1, 8, 8), generator=generator, dtype=torch.uint8)
    clean[:, 0, 0, 0] = 0
    test = torch.randint(0, 256, (100, 1, 8, 8), generator=generator, dtype=torch.uint8)
    test[:, 0, 0, 0] = 0
    triggered = test.clone()
    triggered[:, 0, 0, 0] = 255
    model = TriggerFixes()
    defended = DefenseInput(model, clean, torch.zeros(200), clean, torch.zeros(200), budget=0.1, seed=0)
    reject = Strip(frr=0.05).detector(defended)
    assert reject(triggered).all()  # superimposed: pixel >= 0.5, always class 0, entropy 0
    assert reject(test).mean() < 0.2


def test_fine_pruning_masks_the_dormant_channels_and_keeps_the_floor():
    model = build_model("resnet8", num_classes=3, in_channels=1, image_size=8, width=4, seed=0).eval()
    generator = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (60, 1, 8, 8), generator=generator, dtype=torch.uint8)
    labels = logits(model, images).argmax(1)  # the victim is right on all of them: accuracy 1
    stage = last_conv_stage(model)
    assert stage == "block3"
    order = torch.arange(16)
    cut = pruned(model, order, 5)
    with cut.capture(stage) as seen:
        cut(images.float() / 255)
    assert (seen[stage][:, :5] == 0).all() and (seen[stage][:, 5:] != 0).any()
    defense = FinePruning(max_accuracy_drop=0.1, step=0.25)
    best, count = defense.prune(DefenseInput(model, images, labels, images, labels, budget=0.1, seed=0))
    accuracy = (logits(best, images).argmax(1) == labels).float().mean()
    assert count in (0, 4, 8, 12) and accuracy >= 0.9


def test_fine_tune_is_seeded_and_learns():
    model = build_model("resnet8", num_classes=2, in_channels=1, image_size=8, width=4, seed=0)
    images = torch.zeros(64, 1, 8, 8, dtype=torch.uint8)
    images[32:, :, :4] = 255
    labels = (torch.arange(64) >= 32).long()
    first = fine_tune(model, images, labels, epochs=8, lr=0.05, seed=2)
    second = fine_tune(model, images, labels, epochs=8, lr=0.05, seed=2)
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values(),
                                                 strict=True))
    assert (logits(first, images).argmax(1) == labels).all()
