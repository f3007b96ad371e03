"""Named textures of the generated world: grass, road, snow, water, sand, bricks, stripes, dots, checker, plain.

A texture is a pattern (a function from per-image coordinates and random fields to values in [0, 1])
and a palette (the colours at pattern 0 and 1). As a background it paints with its own palette, so
"snow background" is a concept a study can name, edit and correlate with a class. As a foreground it
shades the object's own colour with its pattern (``colour * (0.5 + 0.5 * pattern)``), so shape,
colour and texture stay separate attributes.

Coordinates are in texture units: the image spans [-16, 16] on each axis whatever its size in pixels,
so a texture looks the same at 32x32 and 64x64. Foreground coordinates are in the object's frame
(they rotate with the object, unscaled by its size).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray
UNITS = 16.0
"""Half the image side in texture units."""
FOREGROUND_FLOOR = 0.5
"""A foreground pixel is ``colour * (FOREGROUND_FLOOR + (1 - FOREGROUND_FLOOR) * pattern)``."""


@dataclass(frozen=True)
class TextureInputs:
    """What a pattern reads, for a batch of n images (coordinates may be shared: first dimension 1)."""

    x: Array
    """Horizontal coordinate in texture units, [n or 1, H, W]."""
    y: Array
    """Vertical coordinate (up is positive), [n or 1, H, W]."""
    noise: Array
    """White noise, uniform in [0, 1), [n, H, W]."""
    smooth: Array
    """Smooth noise (a coarse uniform grid upsampled bilinearly), [n, H, W]."""
    params: Array
    """Per-image uniform [0, 1) draws: two phases, a frequency jitter and an angle, [n, 4]."""

    def param(self, k: int) -> Array:
        """Column k of `params`, shaped to broadcast over pixels: [n, 1, 1]."""
        return self.params[:, k, None, None]

    def take(self, index: Array) -> TextureInputs:
        """The inputs of the images at `index` (shared coordinates stay shared)."""
        def pick(t: Array) -> Array:
            return t if t.shape[0] == 1 else t[index]

        return TextureInputs(pick(self.x), pick(self.y), self.noise[index], self.smooth[index], self.params[index])


def _frac(t: Array) -> Array:
    return t - np.floor(t)  # much faster than np.remainder for floats


def _plain(t: TextureInputs) -> Array:
    return np.ones_like(t.noise)


def _grass(t: TextureInputs) -> Array:
    # Thin vertical blades, bent by the smooth field, with white-noise speckle.
    blades = 0.5 + 0.5 * np.sin(1.9 * t.x + 6.0 * t.smooth + 2 * math.pi * t.param(0))
    return 0.55 * t.noise + 0.45 * blades


def _road(t: TextureInputs) -> Array:
    lane_y = (t.param(0) - 0.5) * 20.0
    lane = (np.abs(t.y - lane_y) < 0.9) & (_frac(t.x / 6.0 + t.param(1)) < 0.55)
    return np.where(lane, 1.0, 0.3 * t.noise)


def _snow(t: TextureInputs) -> Array:
    return np.where(t.noise > 0.93, 1.0, 0.7 + 0.25 * t.smooth)


def _water(t: TextureInputs) -> Array:
    frequency = 0.7 + 0.5 * t.param(2)
    wobble = 1.6 * np.sin(0.5 * t.x + 2 * math.pi * t.param(0))
    return 0.5 + 0.5 * np.sin(frequency * t.y + wobble + 2 * math.pi * t.param(1))


def _sand(t: TextureInputs) -> Array:
    return 0.5 * t.smooth + 0.5 * t.noise


def _bricks(t: TextureInputs) -> Array:
    rows = t.y / 4.0 + t.param(0)
    row = np.floor(rows)
    across = _frac(t.x / 8.0 + 0.5 * np.remainder(row, 2.0) + t.param(1))
    mortar = (across < 0.12) | (rows - row < 0.2)
    return np.where(mortar, 1.0, 0.3 * t.noise)


def _rotated(t: TextureInputs) -> tuple[Array, Array]:
    angle = math.pi * t.param(3)
    cos, sin = np.cos(angle), np.sin(angle)
    return t.x * cos + t.y * sin, t.y * cos - t.x * sin


def _stripes(t: TextureInputs) -> Array:
    across, _ = _rotated(t)
    period = 5.0 + 3.0 * t.param(2)
    return (_frac(across / period + t.param(0)) < 0.5).astype(np.float32)


def _dots(t: TextureInputs) -> Array:
    period = 5.0 + 2.0 * t.param(2)
    dx = _frac(t.x / period + t.param(0)) - 0.5
    dy = _frac(t.y / period + t.param(1)) - 0.5
    return (dx * dx + dy * dy < 0.1).astype(np.float32)


def _checker(t: TextureInputs) -> Array:
    across, along = _rotated(t)
    period = 5.0 + 3.0 * t.param(2)
    cells = np.floor(across / period + t.param(0)) + np.floor(along / period + t.param(1))
    return np.remainder(cells, 2.0)


@dataclass(frozen=True)
class Texture:
    """A named texture: a pattern in [0, 1] and the background colours at pattern 0 and 1."""

    name: str
    pattern: Callable[[TextureInputs], Array]
    low: tuple[float, float, float]
    high: tuple[float, float, float]


TEXTURES: dict[str, Texture] = {t.name: t for t in (
    Texture("plain", _plain, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    Texture("grass", _grass, (0.08, 0.3, 0.06), (0.4, 0.75, 0.22)),
    Texture("road", _road, (0.17, 0.17, 0.19), (0.95, 0.93, 0.75)),
    Texture("snow", _snow, (0.6, 0.66, 0.78), (1.0, 1.0, 1.0)),
    Texture("water", _water, (0.02, 0.15, 0.45), (0.35, 0.6, 0.9)),
    Texture("sand", _sand, (0.66, 0.52, 0.32), (0.95, 0.86, 0.62)),
    Texture("bricks", _bricks, (0.5, 0.16, 0.1), (0.85, 0.83, 0.78)),
    Texture("stripes", _stripes, (0.08, 0.08, 0.08), (0.95, 0.95, 0.95)),
    Texture("dots", _dots, (0.97, 0.92, 0.62), (0.8, 0.12, 0.15)),
    Texture("checker", _checker, (0.12, 0.12, 0.45), (0.9, 0.9, 0.92)),
)}
"""Every texture by name, in a fixed order (its index is the texture's code)."""
NAMES: tuple[str, ...] = tuple(TEXTURES)
PARAMS = 4
"""Per-image pattern draws (`TextureInputs.params` columns)."""


def patterns(codes: Array, inputs: TextureInputs) -> Array:
    """Each image's pattern, float32 [n, H, W]: image i uses texture NAMES[codes[i]]."""
    out = np.empty_like(inputs.noise)
    for code in np.unique(codes).tolist():
        index = np.flatnonzero(codes == code)
        out[index] = TEXTURES[NAMES[code]].pattern(inputs.take(index))
    return out


_PALETTE = np.array([[TEXTURES[name].low, TEXTURES[name].high] for name in NAMES], dtype=np.float32)


def paint_background(codes: Array, inputs: TextureInputs, shade: Array, peak: float = 1.0) -> Array:
    """Background pixels float32 [n, 3, H, W] in [0, peak]: each texture's palette at its pattern.

    `shade` [n, 4] holds per-image uniform draws: a brightness and an RGB tint, so two snowy
    backgrounds are never quite the same colour.
    """
    brightness = 0.85 + 0.3 * shade[:, :1]
    tint = 0.12 * (shade[:, 1:] - 0.5)
    # Patterns lie in [0, 1], so clamping the two palette colours keeps every pixel between them in range.
    low = np.clip(_PALETTE[codes, 0] * brightness + tint, 0.0, 1.0) * peak
    high = np.clip(_PALETTE[codes, 1] * brightness + tint, 0.0, 1.0) * peak
    out = (high - low)[:, :, None, None] * patterns(codes, inputs)[:, None]
    out += low[:, :, None, None]
    return out


def paint_foreground(codes: Array, inputs: TextureInputs, colour: Array, peak: float = 1.0) -> Array:
    """Foreground pixels float32 [n, 3, H, W] in [0, peak]: the object colour [n, 3] shaded by each
    texture's pattern."""
    shading = patterns(codes, inputs)
    shading *= (1.0 - FOREGROUND_FLOOR) * peak
    shading += FOREGROUND_FLOOR * peak
    return colour[:, :, None, None] * shading[:, None]
