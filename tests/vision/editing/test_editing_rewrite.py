"""The rank-one rewrite: its form, what it leaves unchanged, the positions it reads, and bad layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tony.core.errors import DataError, SpecError, UnknownComponentError
from tony.vision.editing.rewrite import (
    _as_rows,
    edit_direction,
    editable_layer,
    fit_update,
    key_second_moment,
    layer_io,
    project,
    resize_mask,
    rewrite,
)
from tony.vision.editing.spec import RewriteSettings
from tony.vision.models import build_model

LAYER = "block3.0.conv2"


@pytest.fixture(scope="module")
def model():
    return build_model("resnet8", num_classes=3, in_channels=3, image_size=16, width=4, seed=0).eval()


@pytest.fixture(scope="module")
def images():
    generator = torch.Generator().manual_seed(0)
    return torch.rand((6, 3, 16, 16), generator=generator)


def masks_of(n: int) -> torch.Tensor:
    masks = torch.zeros((n, 16, 16), dtype=torch.bool)
    masks[:, 4:12, 2:14] = True
    return masks


@pytest.fixture(scope="module")
def edit(model, images):
    originals, transformed = images[:2], images[2:4]
    moment = key_second_moment(model, LAYER, images)
    settings = RewriteSettings(steps=60, lr=0.05)
    return rewrite(model, LAYER, originals, transformed, masks_of(2), moment, settings), moment


def test_the_update_is_exactly_rank_one_along_c_inverse_k(model, images, edit):
    made, moment = edit
    delta = made.delta
    assert delta.abs().max() > 0
    rows = delta.movedim(1, -1).reshape(-1, delta.shape[1])  # one row per (output channel, kernel offset)
    singular = torch.linalg.svdvals(rows.double())
    assert singular[1] <= 1e-6 * singular[0]
    # The direction is C^-1 k for k the top singular vector of the transformed keys at the masked positions.
    keys, _ = layer_io(model, LAYER, images[2:4])
    k = torch.linalg.svd(_as_rows(keys, resize_mask(masks_of(2), keys)).double(), full_matrices=False).Vh[0]
    regularised = moment.double() + 1e-3 * moment.double().diagonal().mean() * torch.eye(len(k), dtype=torch.float64)
    expected = torch.linalg.solve(regularised, k)
    direction = torch.linalg.svd(rows.double(), full_matrices=False).Vh[0]
    assert abs(float(direction @ expected / expected.norm())) == pytest.approx(1.0, abs=1e-6)
    assert torch.allclose(project(delta, made.basis), delta, atol=1e-7)


def test_the_layer_is_unchanged_on_inputs_orthogonal_to_the_direction(model, edit):
    made, _ = edit
    before, after = editable_layer(model, LAYER), editable_layer(made.model, LAYER)
    x = torch.randn((3, before.in_channels, 5, 5), generator=torch.Generator().manual_seed(1))
    d = made.basis[0]
    orthogonal = x - torch.einsum("nchw,c->nhw", x, d)[:, None] * d[None, :, None, None]
    with torch.no_grad():
        assert torch.allclose(before(orthogonal), after(orthogonal), atol=1e-5)
        assert not torch.allclose(before(x), after(x), atol=1e-3)  # and it does change along d
    assert all(torch.equal(a, b) for (name, a), (_, b) in zip(model.state_dict().items(),
                                                              made.model.state_dict().items(), strict=True)
               if name != f"stages.{LAYER}.weight")


def test_zero_steps_is_the_identity(model, images, edit):
    _, moment = edit
    made = rewrite(model, LAYER, images[:2], images[2:4], masks_of(2), moment, RewriteSettings(steps=0))
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), made.model.state_dict().values(),
                                                 strict=True))
    with torch.no_grad():
        assert torch.equal(model(images), made.model(images))


def test_the_fit_reads_masked_positions_only():
    """A 1x1 convolution reads each position alone: keys and values outside the mask do not change the update."""
    generator = torch.Generator().manual_seed(2)
    layer = nn.Conv2d(6, 4, 1, bias=True)
    keys, values = torch.rand((2, 6, 5, 5), generator=generator), torch.rand((2, 4, 5, 5), generator=generator)
    mask = torch.zeros((2, 5, 5), dtype=torch.bool)
    mask[0, 1:3, 1:4] = True
    mask[1, 4, 0] = True
    moment = torch.eye(6) + 0.1
    settings = RewriteSettings(steps=30, lr=0.05)

    def update(k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        basis = edit_direction(_as_rows(k, mask), moment, 1, 1e-3)
        return fit_update(layer, k, v, mask, basis, settings)

    reference = update(keys, values)
    outside = ~mask[:, None]
    assert torch.equal(update(torch.where(outside, 5.0, keys), torch.where(outside, -3.0, values)), reference)
    assert not torch.equal(update(torch.where(outside, keys, keys + 1.0), values), reference)


def test_a_linear_layer_fits_a_reachable_target():
    """Values that the rank-one form can reach: the L2 fit gets there."""
    generator = torch.Generator().manual_seed(3)
    layer = nn.Linear(5, 3)
    keys = torch.rand((1, 5), generator=generator)
    moment = torch.eye(5)
    basis = edit_direction(keys, moment, 1, 0.0)
    target_change = torch.tensor([[0.5, -1.0, 2.0]])
    with torch.no_grad():
        values = layer(keys) + target_change
    delta = fit_update(layer, keys, values, torch.ones(1, dtype=torch.bool), basis,
                       RewriteSettings(steps=500, lr=0.05, loss="l2"))
    with torch.no_grad():
        edited = keys @ (layer.weight + delta).T + layer.bias
    assert torch.allclose(edited, values, atol=1e-3)
    assert torch.linalg.matrix_rank(delta) == 1


def test_masks_are_pooled_to_the_layer_resolution():
    mask = torch.zeros((1, 4, 4), dtype=torch.bool)
    mask[0, :2, :2] = True  # the top-left cell whole
    mask[0, 2, 2] = mask[0, 2, 3] = True  # half of the bottom-right cell
    mask[0, 0, 3] = True  # a quarter of the top-right one
    assert resize_mask(mask, torch.zeros((1, 7, 2, 2))).tolist() == [[[True, False], [False, True]]]
    assert resize_mask(mask, torch.zeros((1, 7))).tolist() == [True]


def test_bad_layers_and_empty_concepts_are_one_line_errors(model, images, edit):
    _, moment = edit
    with pytest.raises(UnknownComponentError, match="has no layer 'block9.0.conv2'"):
        editable_layer(model, "block9.0.conv2")
    with pytest.raises(SpecError, match="is a BatchNorm2d: edit a convolution or linear layer"):
        editable_layer(model, "block3.0.bn2")
    with pytest.raises(DataError, match="covers no position"):
        rewrite(model, LAYER, images[:2], images[2:4], torch.zeros((2, 16, 16), dtype=torch.bool), moment,
                RewriteSettings(steps=1))
