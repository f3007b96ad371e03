"""Save a grid of generated-world images: one row per superclass, its 4 subclasses in turn across.

    .venv/bin/python scripts/vision_world_samples.py --out world.png --per-class 3 --zoom 4
    .venv/bin/python scripts/vision_world_samples.py --out snow.png --background snow   # one texture only
    .venv/bin/python scripts/vision_world_samples.py --out masks.png --masks            # the object masks

Needs pillow (the vision extra).
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="vision-world-samples.png", help="PNG file to write")
    parser.add_argument("--per-class", type=int, default=3, help="images of each subclass")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=32, help="image side in pixels")
    parser.add_argument("--zoom", type=int, default=4, help="pixel repetition in the saved grid")
    parser.add_argument("--background", action="append", help="draw backgrounds from these textures only")
    parser.add_argument("--masks", action="store_true", help="show the object masks instead of the images")
    args = parser.parse_args()

    from PIL import Image

    from tony.vision.data import ShapeWorld

    world = ShapeWorld(size=args.size)
    classes = world.classes
    data = world.generate(len(classes) * args.per_class, seed=args.seed, backgrounds=args.background)
    pixels = data.images.permute(0, 2, 3, 1).numpy()
    if args.masks:
        pixels = np.repeat(data.masks.numpy()[..., None].astype(np.uint8) * 255, 3, axis=3)
    side, gap = args.size, 2
    per_row = 4 * args.per_class  # each family has 4 subclasses
    rows = len(classes) // 4
    grid = np.full((rows * (side + gap), per_row * (side + gap), 3), 255, dtype=np.uint8)
    for i, label in enumerate(data.labels.tolist()):
        row, sub = divmod(label, 4)
        col = sub * args.per_class + i // len(classes)  # image i shows class i % len(classes)
        grid[row * (side + gap): row * (side + gap) + side, col * (side + gap): col * (side + gap) + side] = pixels[i]
    grid = grid.repeat(args.zoom, axis=0).repeat(args.zoom, axis=1)
    Image.fromarray(grid).save(args.out)
    print(f"wrote {args.out}: {rows} superclasses x {per_row} images ({', '.join(world.superclasses)})")


if __name__ == "__main__":
    main()
