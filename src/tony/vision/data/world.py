"""The generated image world: 40 shapes in 10 families on named textures, with masks and attributes.

    world = ShapeWorld()                                  # 32x32, rotation up to +-45 degrees
    data = world.generate(10_000, seed=0)                 # balanced over all 40 shapes
    snowy = world.generate(10_000, seed=0, backgrounds=["snow"])   # the same objects, on snow
    biased = world.generate(10_000, seed=0, background_for_class={"disc": "grass", "square": "water"},
                            spurious_correlation=0.9, classes=["disc", "square"])

Image i of a stream (seed) is a function of (seed, i) alone: the stream is cut into blocks of
`BLOCK` images, each drawn from its own generator seeded by (seed, block), so a stream generated in
chunks (`start=`) equals one generated at once. Every random number is drawn whatever the options,
so options change only what they name: with ``backgrounds=["snow"]`` the objects (shape, place,
size, rotation, colour, foreground texture) are exactly those of the unedited images.

Image i shows class ``classes[i % len(classes)]``, so any run of images is balanced over the
classes to within one image; training code shuffles.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
import torch
from pydantic import Field, model_validator

from tony.core.errors import SpecError
from tony.core.progress import progress_bar
from tony.core.spec import Spec
from tony.vision.data import textures
from tony.vision.data.dataset import ImageDataset, restrict_hierarchy
from tony.vision.data.shapes import FAMILIES, SHAPES, world_edges
from tony.vision.hierarchy import Hierarchy

BLOCK = 1024
"""Images per independently seeded block of a stream."""
SMOOTH_GRID = 6
"""Side of the coarse grid that smooth noise is upsampled from."""
# Columns of each block's scalar draws (uniform in [0, 1)), in a fixed order.
_CX, _CY, _SCALE, _ROT, _HUE, _SAT, _VAL = range(7)
_FG_PICK, _FG_OTHER, _FG_CORR, _BG_PICK, _BG_OTHER, _BG_CORR = range(7, 13)
_FG_PARAMS = slice(13, 13 + textures.PARAMS)
_BG_PARAMS = slice(_FG_PARAMS.stop, _FG_PARAMS.stop + textures.PARAMS)
_BG_SHADE = slice(_BG_PARAMS.stop, _BG_PARAMS.stop + 4)
_COLUMNS = _BG_SHADE.stop


def _superclass_of() -> dict[str, str]:
    return {shape: f.id for f in FAMILIES for _, members in f.groups for shape, _ in members}


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """[n] hue, saturation, value in [0, 1] -> [n, 3] RGB."""
    k = np.remainder(np.array([5.0, 3.0, 1.0], dtype=np.float32) + 6.0 * h[:, None], 6.0)
    return v[:, None] - v[:, None] * s[:, None] * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


class ShapeWorld(Spec):
    """The world's rendering settings (a spec: studies embed it, and its key names the images)."""

    size: int = Field(32, ge=8, le=128, description="Image side in pixels (a block of 1,024 images is rendered "
                                                    "at once, so memory grows with size squared).")
    min_scale: float = Field(0.45, gt=0.0, le=1.0, description="Smallest object radius, as a fraction of half "
                                                               "the image side.")
    max_scale: float = Field(0.75, gt=0.0, le=1.0, description="Largest object radius, same unit.")
    rotation: float = Field(45.0, ge=0.0, le=180.0, description="Largest rotation either way, in degrees.")

    @model_validator(mode="after")
    def _scales_ordered(self) -> ShapeWorld:
        if self.min_scale > self.max_scale:
            raise ValueError("min_scale must not exceed max_scale")
        return self

    @property
    def classes(self) -> tuple[str, ...]:
        """All 40 shapes, family by family."""
        return tuple(SHAPES)

    @property
    def superclasses(self) -> tuple[str, ...]:
        return tuple(f.id for f in FAMILIES)

    @property
    def textures(self) -> tuple[str, ...]:
        return textures.NAMES

    def hierarchy(self) -> Hierarchy:
        """root -> 10 families (level 1) -> 2 groups each (level 2) -> 2 shapes each (level 3)."""
        edges, names = world_edges()
        return Hierarchy(edges, names)

    def generate(self, n: int, seed: int = 0, *, start: int = 0, classes: Sequence[str] | None = None,
                 foregrounds: Sequence[str] | None = None, backgrounds: Sequence[str] | None = None,
                 foreground_for_class: Mapping[str, str] | None = None,
                 background_for_class: Mapping[str, str] | None = None,
                 spurious_correlation: float = 1.0, foreground_correlation: float | None = None,
                 progress: bool = False) -> ImageDataset:
        """Images start .. start+n-1 of stream `seed`, as a uint8 dataset with masks and attributes.

        classes: the shapes to draw (default all 40), image i showing ``classes[i % len(classes)]``.
        foregrounds / backgrounds: the textures drawn uniformly for objects / backgrounds (default all).
        foreground_for_class / background_for_class: a texture per class; an image of that class gets it
        with probability `spurious_correlation`, else one of the other listed textures, uniformly.
        foreground_correlation: that probability for the foreground alone (default: `spurious_correlation`), so
        an object's texture and its background can follow the class to different degrees.
        """
        classes = tuple(classes) if classes is not None else self.classes
        plan = _Plan.make(classes, foregrounds, backgrounds, foreground_for_class, background_for_class,
                          spurious_correlation, foreground_correlation)
        if n < 0 or start < 0 or seed < 0:
            raise SpecError(f"n, start and seed must be >= 0, got n={n}, start={start}, seed={seed}")
        parts: list[dict[str, np.ndarray]] = []
        first, stop = start // BLOCK, (start + n + BLOCK - 1) // BLOCK
        bar = progress_bar(n, "rendering images", unit="img") if progress else None
        for block in range(first, stop):
            lo, hi = max(start, block * BLOCK), min(start + n, (block + 1) * BLOCK)
            parts.append(self._render(seed, block, lo - block * BLOCK, hi - block * BLOCK, plan))
            if bar is not None:
                bar.update(hi - lo)
        if bar is not None:
            bar.close()
        return self._dataset(parts, plan, start, n)

    def _render(self, seed: int, block: int, lo: int, hi: int, plan: _Plan) -> dict[str, np.ndarray]:
        """Render images lo..hi-1 of one block (the whole block's random numbers are drawn regardless)."""
        rng = np.random.default_rng([seed, block])
        size = self.size
        draws = rng.random((BLOCK, _COLUMNS), dtype=np.float32)[lo:hi]
        # One white-noise and one smooth field per image serve both layers: every pixel shows one layer only.
        noise = rng.random((BLOCK, size, size), dtype=np.float32)[lo:hi]
        smooth = _smooth(rng.random((BLOCK, SMOOTH_GRID, SMOOTH_GRID), dtype=np.float32)[lo:hi], size)
        n = hi - lo
        codes = np.arange(block * BLOCK + lo, block * BLOCK + hi) % len(plan.classes)

        scale = self.min_scale + (self.max_scale - self.min_scale) * draws[:, _SCALE]
        # |centre| + scale <= 0.9 (1 - scale) + scale < 1: the object stays inside the image.
        centre = (2.0 * draws[:, [_CX, _CY]] - 1.0) * (0.9 * (1.0 - scale))[:, None]
        angle = np.float32(math.radians(self.rotation)) * (2.0 * draws[:, _ROT] - 1.0)
        pixel = (np.arange(size, dtype=np.float32) + 0.5) / size * 2.0 - 1.0
        gx, gy = pixel.reshape(1, 1, size), -pixel.reshape(1, size, 1)  # y points up: row 0 is the top
        dx, dy = gx - centre[:, 0, None, None], gy - centre[:, 1, None, None]
        cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
        inv = (1.0 / scale)[:, None, None]
        u, v = (cos * dx + sin * dy) * inv, (cos * dy - sin * dx) * inv

        masks = np.empty((n, size, size), dtype=bool)
        count = len(plan.classes)
        offset = (block * BLOCK + lo) % count
        for k, shape in enumerate(plan.classes):
            j = (k - offset) % count  # images j, j+count, j+2 count, ... of this slice show class k
            if j < n:
                masks[j::count] = SHAPES[shape](u[j::count], v[j::count])

        fg_codes = plan.foreground.choose(codes, draws[:, _FG_PICK], draws[:, _FG_OTHER], draws[:, _FG_CORR])
        bg_codes = plan.background.choose(codes, draws[:, _BG_PICK], draws[:, _BG_OTHER], draws[:, _BG_CORR])
        colour = _hsv_to_rgb(draws[:, _HUE], 0.55 + 0.45 * draws[:, _SAT], 0.65 + 0.35 * draws[:, _VAL])
        obj = textures.UNITS * scale[:, None, None]
        fg_inputs = textures.TextureInputs(u * obj, v * obj, noise, smooth, draws[:, _FG_PARAMS])
        plane_x = np.broadcast_to(gx, (1, size, size)) * textures.UNITS
        plane_y = np.broadcast_to(gy, (1, size, size)) * textures.UNITS
        bg_inputs = textures.TextureInputs(plane_x, plane_y, noise, smooth, draws[:, _BG_PARAMS])
        image = textures.paint_background(bg_codes, bg_inputs, draws[:, _BG_SHADE], peak=255.0)
        fg = textures.paint_foreground(fg_codes, fg_inputs, colour, peak=255.0)
        np.copyto(image, fg, where=masks[:, None])
        return {"images": image.astype(np.uint8), "masks": masks, "codes": codes, "fg": fg_codes,  # truncates
                "bg": bg_codes, "colour": colour, "centre": centre, "scale": scale, "angle": angle}

    def _dataset(self, parts: list[dict[str, np.ndarray]], plan: _Plan, start: int, n: int) -> ImageDataset:
        if not parts:
            parts = [self._render(0, 0, 0, 0, plan)]
        cat = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
        labels = cat["codes"]
        superclass = _superclass_of()
        texture_names = np.asarray(textures.NAMES)
        half = self.size / 2.0
        attributes = {
            "index": np.arange(start, start + n, dtype=np.int64),
            "shape": np.asarray(plan.classes)[labels],
            "superclass": np.asarray([superclass[s] for s in plan.classes])[labels],
            "foreground": texture_names[cat["fg"]],
            "background": texture_names[cat["bg"]],
            "colour": cat["colour"],
            # Pixel coordinates of the object's centre (column, row from the top) and its radius in pixels.
            "position": np.stack([half * (1.0 + cat["centre"][:, 0]), half * (1.0 - cat["centre"][:, 1])], axis=1),
            "scale": half * cat["scale"],
            "rotation": np.degrees(cat["angle"]),
        }
        hierarchy = self.hierarchy()
        if set(plan.classes) != set(hierarchy.leaves):
            hierarchy = restrict_hierarchy(hierarchy, list(plan.classes))
        return ImageDataset(torch.from_numpy(cat["images"]), torch.from_numpy(labels.astype(np.int64)), plan.classes,
                            hierarchy, attributes, torch.from_numpy(cat["masks"]))


@lru_cache(maxsize=8)
def _upsampler(size: int, grid: int) -> np.ndarray:
    """[size, grid] bilinear interpolation weights (pixel centres aligned, edges clamped)."""
    weights = np.zeros((size, grid), dtype=np.float32)
    source = np.clip((np.arange(size) + 0.5) * grid / size - 0.5, 0.0, grid - 1.0)
    left = np.floor(source).astype(np.int64)
    right = np.minimum(left + 1, grid - 1)
    rows = np.arange(size)
    np.add.at(weights, (rows, left), 1.0 - (source - left))
    np.add.at(weights, (rows, right), source - left)
    return weights


def _smooth(coarse: np.ndarray, size: int) -> np.ndarray:
    """Bilinear upsampling of [n, g, g] coarse noise to [n, size, size], as two small matrix products."""
    up = _upsampler(size, coarse.shape[-1])
    return up @ coarse @ up.T


class _TextureChoice:
    """How one layer (foreground or background) picks each image's texture code."""

    def __init__(self, layer: str, classes: tuple[str, ...], allowed: Sequence[str] | None,
                 per_class: Mapping[str, str] | None, correlation: float) -> None:
        allowed = tuple(allowed) if allowed is not None else textures.NAMES
        for name in (*allowed, *(per_class or {}).values()):
            if name not in textures.TEXTURES:
                raise SpecError(f"unknown {layer} texture {name!r}: choose from {', '.join(textures.NAMES)}")
        if not allowed:
            raise SpecError(f"give at least one {layer} texture")
        for cls in per_class or {}:
            if cls not in classes:
                raise SpecError(f"{layer}_for_class names {cls!r}, which is not among the classes drawn")
        self.allowed = np.array([textures.NAMES.index(t) for t in allowed])
        self.per_class = {classes.index(c): textures.NAMES.index(t) for c, t in (per_class or {}).items()}
        self.correlation = correlation

    def choose(self, labels: np.ndarray, pick: np.ndarray, other: np.ndarray, corr: np.ndarray) -> np.ndarray:
        """Texture codes [n] from per-image uniform draws (`pick` uniform choice, `other` and `corr` for
        classes with an assigned texture)."""
        count = len(self.allowed)
        codes = self.allowed[np.minimum((pick * count).astype(np.int64), count - 1)]
        for label, assigned in self.per_class.items():
            rows = labels == label
            others = self.allowed[self.allowed != assigned]
            if len(others) == 0:
                codes[rows] = assigned
                continue
            alternative = others[np.minimum((other[rows] * len(others)).astype(np.int64), len(others) - 1)]
            codes[rows] = np.where(corr[rows] < self.correlation, assigned, alternative)
        return codes


class _Plan:
    """The validated options of one `generate` call."""

    def __init__(self, classes: tuple[str, ...], foreground: _TextureChoice, background: _TextureChoice) -> None:
        self.classes, self.foreground, self.background = classes, foreground, background

    @classmethod
    def make(cls, classes: tuple[str, ...], foregrounds: Sequence[str] | None, backgrounds: Sequence[str] | None,
             foreground_for_class: Mapping[str, str] | None, background_for_class: Mapping[str, str] | None,
             correlation: float, foreground_correlation: float | None = None) -> _Plan:
        if not classes:
            raise SpecError("give at least one class to draw")
        for shape in classes:
            if shape not in SHAPES:
                raise SpecError(f"unknown shape {shape!r}: the world's classes are {', '.join(SHAPES)}")
        if len(set(classes)) != len(classes):
            raise SpecError("each class may be listed once")
        foreground_correlation = correlation if foreground_correlation is None else foreground_correlation
        for name, value in (("spurious_correlation", correlation), ("foreground_correlation", foreground_correlation)):
            if not 0.0 <= value <= 1.0:
                raise SpecError(f"{name} must be in [0, 1], got {value}")
        return cls(classes, _TextureChoice("foreground", classes, foregrounds, foreground_for_class,
                                           foreground_correlation),
                   _TextureChoice("background", classes, backgrounds, background_for_class, correlation))
