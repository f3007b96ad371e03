"""The priors' transforms and networks on hand-made images: edges of a square, shuffled patches, a small receptive
field, and the error for an unknown prior."""

from __future__ import annotations

import pytest
import torch

from tony.core.errors import SpecError, UnknownComponentError
from tony.vision.priors.priors import (
    ALIASES,
    PRIOR_STAGE,
    PRIORS,
    SobelEdges,
    build_prior_model,
    gaussian_blur,
    input_statistics,
    resolve_prior,
    shuffle_patches,
    sobel_magnitude,
)


def square(side: int = 12, low: int = 3, high: int = 9, channels: int = 3) -> torch.Tensor:
    """A white square (rows and columns low..high-1) on black, [1, C, side, side]."""
    image = torch.zeros(1, channels, side, side)
    image[..., low:high, low:high] = 1.0
    return image


def test_sobel_magnitude_of_a_square_is_its_outline():
    magnitude = sobel_magnitude(square())[0, 0]
    # Sobel's x kernel on a unit step gives 4 at the two columns beside it (1 + 2 + 1 rows of +-1).
    assert magnitude[5, 2] == pytest.approx(4.0) and magnitude[5, 3] == pytest.approx(4.0)
    assert magnitude[2, 5] == pytest.approx(4.0) and magnitude[8, 5] == pytest.approx(4.0)
    ring = torch.zeros(12, 12, dtype=torch.bool)
    ring[2:10, 2:10] = True
    ring[4:8, 4:8] = False
    assert (magnitude[~ring] < 1e-5).all()  # flat inside and outside; the image border is not an edge
    assert (magnitude[ring] > 0).all()


def test_binary_edges_keep_the_outline_and_drop_faint_texture():
    image = square()
    image[..., 0, ::2] += 0.05  # a faint stripe pattern in the background
    edges = SobelEdges(sigma=0.0, threshold=0.5)(image)[0, 0]
    assert set(edges.unique().tolist()) == {0.0, 1.0}
    assert edges[5, 2] == 1 and edges[5, 3] == 1 and edges[5, 5] == 0
    assert edges[0].sum() == 0  # 0.05 steps are far below half the strongest edge


def test_luminance_uses_the_rgb_weights():
    red = torch.zeros(1, 3, 6, 6)
    red[:, 0, :, 3:] = 1.0  # a red step: luma 0.299
    assert sobel_magnitude(red)[0, 0, 2, 3] == pytest.approx(4 * 0.299, rel=1e-5)


def test_blur_keeps_a_constant_image_and_spreads_a_point():
    flat = torch.full((2, 3, 9, 9), 0.4)
    assert torch.allclose(gaussian_blur(flat, 2.0), flat)
    point = torch.zeros(1, 1, 9, 9)
    point[0, 0, 4, 4] = 1.0
    blurred = gaussian_blur(point, 1.0)
    assert blurred.sum() == pytest.approx(1.0, rel=1e-5) and blurred[0, 0, 4, 4] < 0.2
    assert torch.allclose(blurred[0, 0], blurred[0, 0].T, atol=1e-7)  # a separable, symmetric kernel


def test_shuffled_patches_keep_their_pixels():
    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    shuffled = shuffle_patches(images, 4, torch.Generator().manual_seed(0))
    assert not torch.equal(shuffled, images)
    for i in range(2):
        before = {images[i, :, r:r + 2, c:c + 2].numpy().tobytes() for r in range(0, 8, 2) for c in range(0, 8, 2)}
        after = [shuffled[i, :, r:r + 2, c:c + 2].numpy().tobytes() for r in range(0, 8, 2) for c in range(0, 8, 2)]
        assert sorted(after) == sorted(before)  # every patch is one of the image's own, each used once
    with pytest.raises(SpecError, match="multiple of 3"):
        shuffle_patches(images, 3, torch.Generator())


def test_bagnet_sees_only_a_five_pixel_patch():
    model = build_prior_model("bagnet", "resnet8", num_classes=3, in_channels=3, image_size=16, width=4, seed=0).eval()
    image = torch.rand(1, 3, 16, 16)
    changed = image.clone()
    changed[0, :, 0, 0] = 1.0 - changed[0, :, 0, 0]
    before, after = (model.features(x, "block2")[0] for x in (image, changed))
    moved = (before - after).abs().sum(0) > 1e-6
    assert moved[:3, :3].any() and not moved[3:, :].any() and not moved[:, 3:].any()


@pytest.mark.parametrize("prior", sorted(PRIORS))
def test_every_prior_classifies_raw_images(prior):
    model = build_prior_model(prior, "resnet8", num_classes=4, in_channels=3, image_size=16, width=4, seed=1)
    images = torch.rand(5, 3, 16, 16)
    model.set_normalization(*input_statistics(model, images))
    assert model.eval()(images).shape == (5, 4)
    transformed = PRIOR_STAGE in model.stages
    assert transformed == (prior in ("edges", "sobel", "blur", "patch_shuffle"))


def test_aliases_and_unknown_priors():
    assert {resolve_prior(a) for a in ALIASES} == {"edges", "bagnet"}
    with pytest.raises(UnknownComponentError, match="unknown prior 'fourier': choose from shape, texture"):
        resolve_prior("fourier")
