"""Feature priors: models that see only some cues of an image, built on `tony.vision.models`.

A prior is a transform stage or an architecture; every prior model is a `NamedNet` that takes raw [0, 1]
images, so training, prediction and the cue-conflict test treat them all alike. A transform is the model's first
stage, ``prior``, on raw pixels (so thresholds mean the same on every data set); the input standardisation after
it uses the statistics of transformed images (`input_statistics`):

- ``standard``: the plain image into the backbone (a ResNet or VGG of `tony.vision.models`);
- ``edges`` (shape): a binary edge map, as Canny's high threshold makes one: where the Sobel gradient magnitude
  of the luminance, after a Gaussian blur that wipes out fine texture, exceeds `EDGE_THRESHOLD`; one channel
  into the backbone;
- ``sobel`` (shape): the same magnitude, not thresholded;
- ``blur`` (shape): a strong Gaussian blur of the colour image (high frequencies, where texture lives, removed);
- ``bagnet`` (texture): a BagNet-style net whose receptive field is a small patch (two 3x3 convolutions, then
  1x1 convolutions), its features averaged over positions before the linear head: since the head is linear,
  that is the average of the logits of every patch, each classified on its own;
- ``patch_shuffle`` (texture): the image cut into a grid of patches, shuffled per image, into the backbone;
  the permutation is drawn from a generator seeded by the batch's pixels, so a resumed training sees the same.

``shape`` and ``texture`` name the default prior of each kind (`ALIASES`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from tony.core.errors import SpecError, UnknownComponentError
from tony.vision.models import FEATURES, HEAD, INPUT, NamedNet, Standardize, build_model

PRIOR_STAGE = "prior"
"""The name of the first stage of a transform prior, which transforms the raw image (edges, blur, shuffle)."""
LUMA = (0.299, 0.587, 0.114)
EDGE_SIGMA = 1.5
"""Gaussian blur before the Sobel filter, in pixels at 32 px (scaled with the image side)."""
EDGE_THRESHOLD = 0.5
"""The edge prior keeps gradient magnitudes above this (pixels in [0, 1]): object outlines stay, the fine patterns
of the world's plain, grass, snow and sand backgrounds go (benchmarks/vision_priors.py measures what remains)."""
BLUR_SIGMA = 2.5
"""The blur prior's Gaussian, in pixels at 32 px."""
SHUFFLE_GRID = 4
"""The patch-shuffle prior cuts each image into SHUFFLE_GRID x SHUFFLE_GRID patches."""


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """A normalised 1-D Gaussian of standard deviation `sigma` over +-3 sigma (at least 3 taps)."""
    radius = max(1, math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Each channel of [N, C, H, W] blurred by a separable Gaussian (edges replicated); sigma 0 leaves it as is."""
    if sigma <= 0:
        return images
    kernel = gaussian_kernel(sigma).to(images)
    radius, channels = len(kernel) // 2, images.shape[1]
    out = nn.functional.pad(images, (radius, radius, 0, 0), mode="replicate")
    out = nn.functional.conv2d(out, kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
    out = nn.functional.pad(out, (0, 0, radius, radius), mode="replicate")
    return nn.functional.conv2d(out, kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)


def luminance(images: torch.Tensor) -> torch.Tensor:
    """[N, 1, H, W]: ITU-R 601 luma of RGB images, the image itself for one channel."""
    if images.shape[1] == 1:
        return images
    if images.shape[1] != 3:
        raise SpecError(f"the edge prior takes 1 or 3 channels, got {images.shape[1]}")
    return (images * torch.tensor(LUMA, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)).sum(1, True)


SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def sobel_magnitude(images: torch.Tensor, sigma: float = 0.0) -> torch.Tensor:
    """[N, 1, H, W]: the Sobel gradient magnitude of the (blurred) luminance; the border is replicated, so the
    image's own edge is not an edge."""
    grey = gaussian_blur(luminance(images), sigma)
    padded = nn.functional.pad(grey, (1, 1, 1, 1), mode="replicate")
    kernels = torch.stack([SOBEL_X, SOBEL_X.T]).unsqueeze(1).to(images)
    gradients = nn.functional.conv2d(padded, kernels)
    return gradients.pow(2).sum(1, keepdim=True).add(1e-12).sqrt()


def shuffle_patches(images: torch.Tensor, grid: int, generator: torch.Generator) -> torch.Tensor:
    """Each image cut into grid x grid equal patches, put back in an order drawn per image from `generator`."""
    n, channels, height, width = images.shape
    if height % grid or width % grid:
        raise SpecError(f"patch shuffling cuts the image into {grid}x{grid} patches: its side ({height}x{width}) "
                        f"must be a multiple of {grid}")
    ph, pw = height // grid, width // grid
    patches = images.reshape(n, channels, grid, ph, grid, pw).permute(0, 2, 4, 1, 3, 5).reshape(n, grid * grid,
                                                                                             channels, ph, pw)
    order = torch.argsort(torch.rand(n, grid * grid, generator=generator), dim=1).to(images.device)
    shuffled = patches[torch.arange(n, device=images.device).unsqueeze(1), order]
    return shuffled.reshape(n, grid, grid, channels, ph, pw).permute(0, 3, 1, 4, 2, 5).reshape(images.shape)


class SobelEdges(nn.Module):
    """The edge priors' stage: Sobel magnitude of the blurred luminance, one channel; with a threshold, 1 where the
    magnitude exceeds it and 0 elsewhere."""

    def __init__(self, sigma: float, threshold: float | None = None) -> None:
        super().__init__()
        self.sigma, self.threshold = sigma, threshold

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        magnitude = sobel_magnitude(x, self.sigma)
        if self.threshold is None:
            return magnitude
        # Relative to each image's strongest edge, as Canny's thresholds usually are: the object's outline
        # survives whatever its contrast with the background, so the contrast does not tell the background.
        peak = magnitude.amax(dim=(1, 2, 3), keepdim=True)
        return (magnitude > self.threshold * peak).to(x.dtype)


class Blur(nn.Module):
    """The blur prior's stage."""

    def __init__(self, sigma: float) -> None:
        super().__init__()
        self.sigma = sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gaussian_blur(x, self.sigma)


class PatchShuffle(nn.Module):
    """The patch-shuffle prior's stage; the order is seeded by the batch's content (see the module docstring)."""

    def __init__(self, grid: int) -> None:
        super().__init__()
        self.grid = grid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        content = int((x.detach().float() * 1000).round().sum().item()) % (2**62)
        return shuffle_patches(x, self.grid, torch.Generator().manual_seed(content))


@dataclass(frozen=True)
class Prior:
    """One feature prior."""

    name: str
    kind: str
    """shape, texture or standard: which cue it is meant to rely on."""
    description: str
    build: Callable[[str, int, int, int, int, int], NamedNet]
    """(architecture, classes, channels, image side, width, seed) -> the untrained model."""


def _with_stage(stage: Callable[[int], nn.Module], channels_out: int | None = None):
    """A builder: `stage(image side)`, then the backbone (built for `channels_out` channels when the stage changes
    the channel count)."""
    def build(arch: str, classes: int, channels: int, side: int, width: int, seed: int) -> NamedNet:
        backbone = build_model(arch, num_classes=classes, in_channels=channels_out or channels, image_size=side,
                               width=width, seed=seed)
        return NamedNet(f"{arch}+{PRIOR_STAGE}", [(PRIOR_STAGE, stage(side)), *backbone.stages.items()])
    return build


def _standard(arch: str, classes: int, channels: int, side: int, width: int, seed: int) -> NamedNet:
    return build_model(arch, num_classes=classes, in_channels=channels, image_size=side, width=width, seed=seed)


def _conv(channels_in: int, channels_out: int, size: int) -> list[nn.Module]:
    return [nn.Conv2d(channels_in, channels_out, size, 1, size // 2, bias=False), nn.BatchNorm2d(channels_out),
            nn.ReLU(inplace=True)]


def _bagnet(arch: str, classes: int, channels: int, side: int, width: int, seed: int) -> NamedNet:
    """A 5x5 receptive field: two 3x3 convolutions, then two 1x1 (`arch` is not used; `width` sets the channels)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        stages: list[tuple[str, nn.Module]] = [
            (INPUT, Standardize(channels)),
            ("stem", nn.Sequential(*_conv(channels, width, 3))),
            ("block1", nn.Sequential(*_conv(width, 2 * width, 3))),
            ("block2", nn.Sequential(*_conv(2 * width, 4 * width, 1), *_conv(4 * width, 4 * width, 1))),
            (FEATURES, nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())),
            (HEAD, nn.Linear(4 * width, classes))]
        model = NamedNet("bagnet", stages)
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
    return model


PRIORS: dict[str, Prior] = {p.name: p for p in (
    Prior("standard", "standard", "the plain image", _standard),
    Prior("edges", "shape", "binary edges: the Sobel magnitude of the blurred luminance, thresholded",
          _with_stage(lambda side: SobelEdges(EDGE_SIGMA * side / 32, EDGE_THRESHOLD), channels_out=1)),
    Prior("sobel", "shape", "the Sobel magnitude of the blurred luminance",
          _with_stage(lambda side: SobelEdges(EDGE_SIGMA * side / 32), channels_out=1)),
    Prior("blur", "shape", "a strong Gaussian blur", _with_stage(lambda side: Blur(BLUR_SIGMA * side / 32))),
    Prior("bagnet", "texture", "patches of 5x5 pixels classified independently, logits averaged", _bagnet),
    Prior("patch_shuffle", "texture", f"{SHUFFLE_GRID}x{SHUFFLE_GRID} patches shuffled per image",
          _with_stage(lambda side: PatchShuffle(SHUFFLE_GRID))),
)}
"""Every prior by name."""
ALIASES = {"shape": "edges", "texture": "bagnet"}
"""The default prior of each kind."""


def resolve_prior(name: str) -> str:
    """The prior's name (an alias resolved); an UnknownComponentError naming the choices for an unknown one."""
    name = ALIASES.get(name, name)
    if name not in PRIORS:
        raise UnknownComponentError(f"unknown prior '{name}': choose from {', '.join([*ALIASES, *PRIORS])}")
    return name


def build_prior_model(prior: str, arch: str, *, num_classes: int, in_channels: int, image_size: int, width: int,
                      seed: int) -> NamedNet:
    """The untrained model of `prior` on the backbone `arch`, initialised from `seed` (global RNG left alone)."""
    return PRIORS[resolve_prior(prior)].build(arch, num_classes, in_channels, image_size, width, seed)


def input_statistics(model: NamedNet, images: torch.Tensor, limit: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and deviation of what the model's input standardisation sees: (up to `limit` evenly spaced)
    images after the prior's transform, if it has one."""
    sample = images[:: max(1, len(images) // limit)]
    sample = sample.float().div(255.0) if sample.dtype == torch.uint8 else sample.float()
    if PRIOR_STAGE in model.stages:
        with torch.no_grad():
            sample = model.stages[PRIOR_STAGE](sample)
    return sample.mean(dim=(0, 2, 3)), sample.std(dim=(0, 2, 3)).clamp_min(1e-3)
