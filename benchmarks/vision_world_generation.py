"""Images per second of tony's generated world against a per-image Pillow renderer, same machine, one run.

tony's side: `ShapeWorld().generate(n, seed)`, 32x32 RGB uint8 images with object masks and attributes,
vectorised over blocks of 1,024 images in numpy (one thread). Measured on all 40 shapes and on the 10
convex shapes the Pillow side can draw.

The other side is what a user would write without it: one image at a time, Pillow drawing the same
object (the shape's polygon, rotated, scaled and placed with the same random parameters) into a mask,
numpy painting the same background and foreground textures for that image (tony's pattern functions,
called per image), and `Image.composite` putting them together. It draws only the 10 convex shapes
(polygons; discs and ellipses as 48-gons), so it does less work per image than tony's 40-shape world.

The sides alternate, `--repeats` times; the best rate of each is reported (the median beside it), per wall
second and per CPU second of the process (both sides use one thread, so the second is each side's rate
on an idle core even when other jobs share the machine).

    .venv/bin/python benchmarks/vision_world_generation.py                 # 20,000 vs 2,000 images
    .venv/bin/python benchmarks/vision_world_generation.py --images 50000 --repeats 5

Writes benchmarks/results/vision_world_generation.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).parent / "results" / "vision_world_generation.json"
CONVEX = {
    "disc": [(0.85 * math.cos(a), 0.85 * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 48, endpoint=False)],
    "ellipse": [(0.95 * math.cos(a), 0.48 * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 48, endpoint=False)],
    "square": [(-0.68, -0.68), (0.68, -0.68), (0.68, 0.68), (-0.68, 0.68)],
    "rectangle": [(-0.88, -0.44), (0.88, -0.44), (0.88, 0.44), (-0.88, 0.44)],
    "parallelogram": [(-0.8, -0.5), (0.2, -0.5), (0.8, 0.5), (-0.2, 0.5)],
    "trapezoid": [(-0.814, -0.52), (0.814, -0.52), (0.346, 0.52), (-0.346, 0.52)],
    "equilateral": None,  # filled from tony's own vertex lists below
    "tall-triangle": [(0.0, 0.95), (-0.38, -0.8), (0.38, -0.8)],
    "right-triangle": [(-0.68, -0.68), (0.72, -0.68), (-0.68, 0.72)],
    "obtuse-triangle": [(-0.92, -0.38), (0.92, -0.38), (0.3, 0.35)],
}


def _tony(n: int, seed: int, classes: list[str] | None) -> tuple[float, float]:
    """(images per wall second, images per CPU second of this process)."""
    from tony.vision.data import ShapeWorld

    start, cpu = time.perf_counter(), time.process_time()
    data = ShapeWorld().generate(n, seed=seed, classes=classes)
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    assert data.images.shape == (n, 3, 32, 32) and data.masks is not None
    return n / elapsed, n / used


def _pillow(n: int, seed: int) -> tuple[float, float]:
    """The per-image renderer: same parameters and textures as the world, one image at a time."""
    from PIL import Image, ImageDraw

    from tony.vision.data import textures
    from tony.vision.data.shapes import regular

    polygons = {**CONVEX, "equilateral": regular(3, 0.95)}
    names = list(polygons)
    size, half = 32, 16.0
    pixel = (np.arange(size, dtype=np.float32) + 0.5) / size * 2.0 - 1.0
    gx, gy = np.broadcast_to(pixel[None, None, :], (1, size, size)), np.broadcast_to(-pixel[None, :, None],
                                                                                      (1, size, size))
    rng = np.random.default_rng(seed)
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        cx, cy, s01, r01, hue, sat, val, fg_pick, bg_pick = rng.random(9)
        params = rng.random((2, textures.PARAMS)).astype(np.float32)
        shade = rng.random((1, 4)).astype(np.float32)
        noise = rng.random((1, size, size), dtype=np.float32)
        smooth = np.repeat(np.repeat(rng.random((1, 4, 4), dtype=np.float32), 8, axis=1), 8, axis=2)
        scale = 0.45 + 0.3 * s01
        centre = ((2 * cx - 1) * 0.9 * (1 - scale), (2 * cy - 1) * 0.9 * (1 - scale))
        angle = math.radians(45.0) * (2 * r01 - 1)
        cos, sin = math.cos(angle), math.sin(angle)
        points = [(half * (1 + centre[0] + scale * (cos * u - sin * v)), half * (1 - centre[1] - scale * (
            sin * u + cos * v))) for u, v in polygons[names[i % len(names)]]]
        mask = Image.new("L", (size, size), 0)
        ImageDraw.Draw(mask).polygon(points, fill=255)
        bg_code = np.array([int(bg_pick * len(textures.NAMES))])
        fg_code = np.array([int(fg_pick * len(textures.NAMES))])
        bg_in = textures.TextureInputs(gx * 16, gy * 16, noise, smooth, params[:1])
        dx, dy = gx - centre[0], gy - centre[1]
        u, v = 16 * (cos * dx + sin * dy), 16 * (cos * dy - sin * dx)  # object frame, texture units
        fg_in = textures.TextureInputs(u, v, noise, smooth, params[1:])
        r, g, b = (np.clip(val - val * sat * np.clip(min(k, 4 - k), 0, 1), 0, 1) for k in
                   ((5 + 6 * hue) % 6, (3 + 6 * hue) % 6, (1 + 6 * hue) % 6))
        colour = np.array([[r, g, b]], dtype=np.float32)
        background = textures.paint_background(bg_code, bg_in, shade, peak=255.0)[0]
        foreground = textures.paint_foreground(fg_code, fg_in, colour, peak=255.0)[0]
        image = Image.composite(Image.fromarray(foreground.transpose(1, 2, 0).astype(np.uint8)),
                                Image.fromarray(background.transpose(1, 2, 0).astype(np.uint8)), mask)
        np.asarray(image)
    return n / (time.perf_counter() - start), n / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20_000, help="images per tony measurement")
    parser.add_argument("--pillow-images", type=int, default=2_000, help="images per Pillow measurement")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    _tony(2_048, 99, None)  # warm-up: imports, caches
    _pillow(100, 99)
    names = ("tony_all_40", "tony_convex_10", "pillow_convex_10")
    wall: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    for repeat in range(args.repeats):
        for name, measured in zip(names, (_tony(args.images, repeat, None), _tony(args.images, repeat, list(CONVEX)),
                                          _pillow(args.pillow_images, repeat)), strict=True):
            wall[name].append(measured[0])
            cpu[name].append(measured[1])
        print(f"repeat {repeat}: " + ", ".join(f"{k} {wall[k][-1]:,.0f}/s ({cpu[k][-1]:,.0f} per CPU-s)"
                                                for k in names), flush=True)
    best = {k: max(v) for k, v in wall.items()}
    best_cpu = {k: max(v) for k, v in cpu.items()}
    result: dict[str, Any] = {
        "claim": "images per second of the generated world, 32x32 with masks and attributes (target >= 5,000 on "
                 "2 cores), against a per-image Pillow renderer of the same images",
        "images": args.images, "pillow_images": args.pillow_images, "repeats": args.repeats,
        "best_images_per_s": best,
        "median_images_per_s": {k: statistics.median(v) for k, v in wall.items()},
        # Both sides run on one thread, so images per CPU-second is their rate on an otherwise idle core,
        # whatever else the machine was doing during the measurement.
        "best_images_per_cpu_s": best_cpu,
        "all_images_per_s": wall,
        "all_images_per_cpu_s": cpu,
        "speedup_same_shapes": best["tony_convex_10"] / best["pillow_convex_10"],
        "speedup_same_shapes_cpu": best_cpu["tony_convex_10"] / best_cpu["pillow_convex_10"],
        "speedup_all_shapes_vs_pillow_convex": best["tony_all_40"] / best["pillow_convex_10"],
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_1min_at_end": os.getloadavg()[0]},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("best_images_per_s", "best_images_per_cpu_s", "speedup_same_shapes",
                                             "speedup_same_shapes_cpu", "speedup_all_shapes_vs_pillow_convex")},
                     indent=1))


if __name__ == "__main__":
    main()
