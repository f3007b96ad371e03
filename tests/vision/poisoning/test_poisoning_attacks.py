"""Each attack's poisons respect its threat model: the budget, exact trigger pixels, the same trigger at training and
test time, labels untouched for clean-label attacks, and the eps bound for crafted poisons."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tony.core.errors import SpecError
from tony.vision.models import build_model
from tony.vision.poisoning.attacks.badnets import BadNets
from tony.vision.poisoning.attacks.base import AttackInput, within_eps
from tony.vision.poisoning.attacks.blended import Blended
from tony.vision.poisoning.attacks.clean_label import CleanLabel
from tony.vision.poisoning.attacks.feature_collision import FeatureCollision
from tony.vision.poisoning.attacks.gradient_matching import GradientMatching
from tony.vision.poisoning.attacks.label_flip import LabelFlip
from tony.vision.poisoning.threat import ThreatModel

CLASSES, SIDE = 4, 12


def given(threat: ThreatModel, n: int = 80, channels: int = 1, model=None, targets=()) -> AttackInput:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, channels, SIDE, SIDE), generator=generator, dtype=torch.uint8)
    labels = torch.arange(n) % CLASSES
    test = torch.randint(0, 256, (10, channels, SIDE, SIDE), generator=generator, dtype=torch.uint8)
    return AttackInput(images, labels, CLASSES, 3, threat, seed=5, test_images=test, targets=targets, model=model)


def tiny_model(channels: int = 1):
    return lambda: build_model("resnet8", num_classes=CLASSES, in_channels=channels, image_size=SIDE, width=4, seed=1)


def test_badnets_stamps_exact_pixels_relabels_to_target_and_spends_the_budget():
    attack = BadNets(size=3, pattern="checker")
    data = given(ThreatModel(fraction=0.25), channels=3)
    out = attack.poison(data)
    chosen = np.flatnonzero(out.poisoned)
    assert len(chosen) == 20 and (data.labels[chosen] != 3).all() and (out.labels[chosen] == 3).all()
    checker = torch.tensor([[255, 0, 255], [0, 255, 0], [255, 0, 255]], dtype=torch.uint8)
    for c in range(3):  # bottom-right, one pixel from the edges: rows and columns 8, 9, 10 of 12
        assert torch.equal(out.images[chosen][:, c, 8:11, 8:11], checker.expand(len(chosen), 3, 3))
    untouched = torch.ones(SIDE, SIDE, dtype=torch.bool)
    untouched[8:11, 8:11] = False
    assert torch.equal(out.images[chosen][..., untouched], data.images[chosen][..., untouched])
    clean = ~out.poisoned
    assert torch.equal(out.images[clean], data.images[clean]) and torch.equal(out.labels[clean], data.labels[clean])
    # The trigger at test time is the training one: the same function, the same pixels.
    assert torch.equal(attack.apply_trigger(data.images[chosen]), out.images[chosen])


def test_badnets_all_to_all_and_placement():
    data = given(ThreatModel(fraction=0.5, mapping="all-to-all"))
    out = BadNets(pattern="white", row=0, col=0, size=2).poison(data)
    chosen = np.flatnonzero(out.poisoned)
    assert torch.equal(out.labels[chosen], (data.labels[chosen] + 1) % CLASSES)
    assert (out.images[chosen][..., :2, :2] == 255).all()
    with pytest.raises(SpecError, match="does not fit 12x12 images"):
        BadNets(size=5, row=10).apply_trigger(data.images)


def test_blended_is_the_convex_mix_rounded():
    attack = Blended(alpha=0.25)
    data = given(ThreatModel(fraction=0.1))
    out = attack.poison(data)
    chosen = np.flatnonzero(out.poisoned)
    expected = (0.75 * data.images[chosen].float() + 0.25 * 255 * attack.pattern((1, SIDE, SIDE))).round()
    assert torch.equal(out.images[chosen], expected.to(torch.uint8))
    assert torch.equal(attack.apply_trigger(data.images[chosen]), out.images[chosen])
    assert (out.labels[chosen] == 3).all() and len(chosen) == 8


def test_label_flip_random_never_keeps_the_true_label_and_class_mode_moves_one_class():
    data = given(ThreatModel(fraction=0.5, goal="indiscriminate"))
    out = LabelFlip().poison(data)
    chosen = out.poisoned
    assert chosen.sum() == 40 and (out.labels[chosen] != data.labels[chosen]).all()
    assert torch.equal(out.images, data.images)
    assert sorted(torch.unique(out.labels[chosen]).tolist()) == [0, 1, 2, 3]  # spread over the other classes
    flipped = LabelFlip(mode="class", source_class=1).poison(given(ThreatModel(count=10, goal="indiscriminate")))
    assert flipped.poisoned.sum() == 10 and (data.labels[flipped.poisoned] == 1).all()
    assert (flipped.labels[flipped.poisoned] == 3).all()
    with pytest.raises(SpecError, match="only 20 training examples can carry one"):
        LabelFlip(mode="class").poison(given(ThreatModel(count=21, goal="indiscriminate")))


def test_within_eps_never_leaves_the_ball():
    original = torch.tensor([0, 10, 128, 250, 255], dtype=torch.uint8)
    wanted = torch.tensor([1.0, 0.0, 0.3, 1.0, 0.0])
    out = within_eps(original, wanted, 8 / 255)
    assert out.tolist() == [8, 2, 120, 255, 247]
    assert ((out.float() - original.float()).abs() <= 8).all()


def test_clean_label_keeps_labels_poisons_only_the_target_class_within_eps_plus_trigger():
    eps = 8 / 255
    attack = CleanLabel(steps=3)
    data = given(ThreatModel(fraction=0.1, knowledge="grey_box", labels="clean", eps=eps), model=tiny_model())
    out = attack.poison(data)
    chosen = np.flatnonzero(out.poisoned)
    assert len(chosen) == 8 and torch.equal(out.labels, data.labels) and (data.labels[chosen] == 3).all()
    assert torch.equal(out.images[chosen][..., 8:11, 8:11], attack.apply_trigger(out.images[chosen])[..., 8:11, 8:11])
    outside = torch.ones(SIDE, SIDE, dtype=torch.bool)
    outside[8:11, 8:11] = False
    change = (out.images[chosen].float() - data.images[chosen].float())[..., outside].abs()
    assert change.max() <= 8 and change.max() > 0
    with pytest.raises(SpecError, match="budget of 30 exceeds the 20 of class 3"):
        attack.poison(given(ThreatModel(count=30, knowledge="grey_box", labels="clean", eps=eps), model=tiny_model()))


def test_feature_collision_moves_poisons_toward_the_target_in_feature_space_within_eps():
    eps = 16 / 255
    threat = ThreatModel(count=4, knowledge="white_box", labels="clean", eps=eps, goal="targeted", regime="last_layer")
    data = given(threat, model=tiny_model(), targets=(2,))
    out = FeatureCollision(steps=30).poison(data)
    chosen = np.flatnonzero(out.poisoned)
    assert torch.equal(out.labels, data.labels) and (data.labels[chosen] == 3).all()
    assert (out.images.float() - data.images.float()).abs().max() <= 16
    model = tiny_model()().eval()
    with torch.no_grad():
        target = model.features(data.test_images[2:3].float() / 255)
        before = ((model.features(data.images[chosen].float() / 255) - target) ** 2).sum(1)
        after = ((model.features(out.images[chosen].float() / 255) - target) ** 2).sum(1)
    assert (after < before).all()


def test_gradient_matching_aligns_the_poison_gradient_within_eps():
    eps = 16 / 255
    threat = ThreatModel(count=4, knowledge="grey_box", labels="clean", eps=eps, goal="targeted")
    data = given(threat, model=tiny_model(), targets=(1,))
    out = GradientMatching(steps=15).poison(data)
    chosen = np.flatnonzero(out.poisoned)
    assert torch.equal(out.labels, data.labels) and (out.images.float() - data.images.float()).abs().max() <= 16
    model = tiny_model()().eval()
    weights = list(model.parameters())

    def gradient(images, labels):
        loss = torch.nn.functional.cross_entropy(model(images.float() / 255), labels)
        return torch.cat([g.flatten() for g in torch.autograd.grad(loss, weights)])

    wanted = gradient(data.test_images[1:2], torch.tensor([3]))
    cosine = torch.nn.functional.cosine_similarity
    before = cosine(gradient(data.images[chosen], data.labels[chosen]), wanted, dim=0)
    after = cosine(gradient(out.images[chosen], data.labels[chosen]), wanted, dim=0)
    assert after > before
