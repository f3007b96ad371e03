"""Data augmentation as batched torch operations on image tensors (no per-image Python, no worker processes).

Policies, by name:

- ``none``: the images as they are;
- ``standard``: random crop after zero padding by size/8 on each side (4 px at 32 px, the CIFAR
  recipe) and a horizontal flip with probability 1/2;
- ``strong``: crop after padding by size/4, flip, per-image brightness, contrast and saturation
  jitter of up to +-40%, greyscale with probability 0.2 and, with probability 1/2, a cutout square of
  half the image's side filled with the image's mean colour.

Every random draw comes from the `torch.Generator` passed in, so a training step's augmentation is
fixed by its seed.
"""

from __future__ import annotations

import torch

from tony.core.errors import SpecError

POLICIES = ("none", "standard", "strong")
JITTER = 0.4
"""Largest relative change of brightness, contrast and saturation in ``strong``."""
GREYSCALE_P = 0.2
CUTOUT_P = 0.5
LUMA = (0.299, 0.587, 0.114)
"""ITU-R 601 weights of R, G, B in luminance."""


def check_policy(policy: str) -> str:
    if policy not in POLICIES:
        raise SpecError(f"unknown augmentation '{policy}': choose one of {', '.join(POLICIES)}")
    return policy


def augment(images: torch.Tensor, policy: str, generator: torch.Generator) -> torch.Tensor:
    """A new batch: `images` (N, C, H, W floats) augmented by `policy`."""
    check_policy(policy)
    if policy == "none":
        return images
    size = min(images.shape[-2:])
    out = random_crop(images, max(1, size // (8 if policy == "standard" else 4)), generator)
    out = random_flip(out, generator)
    if policy == "strong":
        out = colour_jitter(out, generator)
        out = cutout(out, max(1, size // 2), generator)
    return out


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Each image zero-padded by `padding` on every side, then cropped back to its size at a random offset."""
    n, _, height, width = images.shape
    padded = torch.nn.functional.pad(images, (padding, padding, padding, padding))
    dy = torch.randint(0, 2 * padding + 1, (n, 1), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n, 1), generator=generator)
    rows = (dy + torch.arange(height)).unsqueeze(2)  # (N, H, 1)
    cols = (dx + torch.arange(width)).unsqueeze(1)  # (N, 1, W)
    # One gather for the whole batch: advanced indices on N, H, W put those axes first, channels last.
    crops = padded[torch.arange(n).view(n, 1, 1), :, rows, cols]  # (N, H, W, C)
    return crops.permute(0, 3, 1, 2).contiguous()


def random_flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image mirrored left-right with probability 1/2."""
    flip = torch.rand(images.shape[0], generator=generator) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)


def colour_jitter(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Per-image brightness, contrast and saturation factors in [1 - JITTER, 1 + JITTER], then greyscale
    with probability GREYSCALE_P; values clipped to [0, 1]. Images with other than 3 channels get
    brightness and contrast only."""
    n = images.shape[0]

    def factors() -> torch.Tensor:
        return (1 + JITTER * (2 * torch.rand(n, generator=generator) - 1)).view(n, 1, 1, 1)

    out = (images * factors()).clamp(0, 1)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = ((out - mean) * factors() + mean).clamp(0, 1)
    saturation, grey_draw = factors(), torch.rand(n, generator=generator)
    if images.shape[1] != 3:
        return out
    luma = (out * torch.tensor(LUMA).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    out = ((out - luma) * saturation + luma).clamp(0, 1)
    return torch.where((grey_draw < GREYSCALE_P).view(n, 1, 1, 1), luma.expand_as(out), out)


def cutout(images: torch.Tensor, side: int, generator: torch.Generator) -> torch.Tensor:
    """With probability CUTOUT_P per image, a `side` x `side` square (centred anywhere, clipped at the
    edges) replaced by the image's mean colour."""
    n, _, height, width = images.shape
    cy = torch.randint(0, height, (n, 1, 1), generator=generator)
    cx = torch.randint(0, width, (n, 1, 1), generator=generator)
    apply = (torch.rand(n, generator=generator) < CUTOUT_P).view(n, 1, 1)
    ys, xs = torch.arange(height).view(1, height, 1) - cy, torch.arange(width).view(1, 1, width) - cx
    half = side // 2
    inside = (ys >= -half) & (ys < side - half) & (xs >= -half) & (xs < side - half) & apply  # (N, H, W)
    return torch.where(inside.unsqueeze(1), images.mean(dim=(2, 3), keepdim=True), images)
