"""Models: every architecture builds and runs, layers by name, forward hooks, replacing the last layer, bad sizes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tony.core.errors import SpecError, UnknownComponentError
from tony.vision.models import ARCHITECTURES, FEATURES, HEAD, INPUT, build_model


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_every_architecture_maps_images_to_logits_through_named_stages(name):
    model = build_model(name, num_classes=5, in_channels=3, image_size=32, width=4, seed=0)
    logits = model(torch.rand(2, 3, 32, 32))
    assert logits.shape == (2, 5)
    names = model.layer_names
    assert names[0] == INPUT and names[-2:] == [FEATURES, HEAD]
    blocks = [n for n in names if n.startswith("block")]
    assert blocks == [f"block{i + 1}" for i in range(len(ARCHITECTURES[name].stages))]
    assert isinstance(model.layer(HEAD), nn.Linear) and model.head.in_features == ARCHITECTURES[name].stages[-1][1] * 4


def test_the_same_seed_gives_the_same_weights_and_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_model("resnet8", num_classes=3, width=4, seed=7)
    assert torch.equal(torch.rand(1), before)  # building did not draw from the global generator
    b = build_model("resnet8", num_classes=3, width=4, seed=7)
    c = build_model("resnet8", num_classes=3, width=4, seed=8)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    assert not torch.equal(a.head.weight, c.head.weight)


def test_capture_reads_each_named_layer_and_removes_its_hooks():
    model = build_model("resnet8", num_classes=4, width=4, seed=0).eval()
    images = torch.rand(3, 3, 16, 16)
    with model.capture("block2", FEATURES, "block1.0.bn1") as captured:
        logits = model(images)
    assert captured["block2"].shape == (3, 8, 8, 8)
    assert captured[FEATURES].shape == (3, 16)
    # The penultimate features are what the last layer reads: applying it reproduces the logits.
    assert torch.allclose(model.head(captured[FEATURES]), logits, atol=1e-6)
    assert torch.equal(captured[FEATURES], model.features(images))
    # bn1's output is followed by an in-place ReLU; the captured copy keeps the values before it.
    assert (captured["block1.0.bn1"] < 0).any()
    assert all(not m._forward_hooks for m in model.modules())


def test_capture_can_keep_the_graph_for_gradients():
    model = build_model("vgg7", num_classes=3, width=4, seed=0)
    with model.capture("block3", detach=False) as captured:
        model(torch.rand(2, 3, 16, 16))
    captured["block3"].sum().backward()
    assert model.layer("block1")[0].weight.grad is not None


@pytest.mark.parametrize("channels", [1, 3])
def test_channels_last_batches_train_in_plain_layout_with_the_reference_gradients(channels):
    # A one-channel batch indexed out of a larger tensor can carry channels-last strides; oneDNN's 1x1 stride-2
    # backward-weights kernel corrupts memory on such input (uxlfoundation/oneDNN#6035), so the input stage
    # hands the network plain NCHW. The gradients must match oneDNN-free convolution.
    model = build_model("resnet8", num_classes=4, in_channels=channels, image_size=28, width=4, seed=0)
    images = torch.rand(18, 28, 28, channels, generator=torch.Generator().manual_seed(0)).permute(0, 3, 1, 2)
    assert images.is_contiguous(memory_format=torch.channels_last)
    assert model.layer(INPUT)(images).stride(1) == 28 * 28

    def shortcut_gradients():
        model.zero_grad()
        model(images).logsumexp(1).sum().backward()
        return [m.weight.grad.clone() for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)]

    fast = shortcut_gradients()
    with torch.backends.mkldnn.flags(enabled=False):
        reference = shortcut_gradients()
    assert len(fast) == 2
    for got, want in zip(fast, reference, strict=True):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-5)


def test_reset_head_replaces_only_the_last_layer():
    model = build_model("resnet8", num_classes=4, width=4, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    head = model.reset_head(seed=3)
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"stages.fc.weight", "stages.fc.bias"} and model.head is head
    again = build_model("resnet8", num_classes=4, width=4, seed=0)
    assert torch.equal(again.reset_head(seed=3).weight, head.weight)  # seeded
    assert model.reset_head(7).out_features == 7 and model(torch.rand(1, 3, 8, 8)).shape == (1, 7)


def test_unknown_names_and_impossible_sizes_are_errors_that_say_what_to_do():
    unknown = (r"unknown model 'resnet9000': did you mean 'resnet20'\? "
               r"`tony ls vision_model` lists them \(resnet14, resnet18")
    with pytest.raises(UnknownComponentError, match=unknown):
        build_model("resnet9000", num_classes=3)
    with pytest.raises(SpecError, match="needs images of at least 32 px, got 16"):
        build_model("vgg11", num_classes=3, image_size=16)
    with pytest.raises(SpecError, match="num_classes >= 2"):
        build_model("resnet8", num_classes=1)
    model = build_model("resnet8", num_classes=3, width=4)
    with pytest.raises(UnknownComponentError, match="has no layer 'block9': its layers are input, stem, block1"):
        model.layer("block9")
    with pytest.raises(UnknownComponentError, match="layer 'block1' has no module 'nope'"):
        model.layer("block1.nope")
    with pytest.raises(UnknownComponentError):
        model.features(torch.rand(1, 3, 8, 8), "block9")
