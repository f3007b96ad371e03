"""The generated world: determinism, chunking, balance, masks against pixels and geometry, textures, options."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tony.core.errors import SpecError, TonyError
from tony.vision.data import ShapeWorld
from tony.vision.data.shapes import FAMILIES, regular
from tony.vision.data.world import BLOCK, _smooth

WORLD = ShapeWorld()


def _same(a, b) -> bool:
    return (torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks) and torch.equal(a.labels, b.labels)
            and all(np.array_equal(a.attributes[k], b.attributes[k]) for k in a.attributes))


def test_same_seed_same_images_and_other_seed_other_images():
    a, b, c = WORLD.generate(300, seed=4), WORLD.generate(300, seed=4), WORLD.generate(300, seed=5)
    assert _same(a, b)
    assert not torch.equal(a.images, c.images)
    assert a.images.shape == (300, 3, 32, 32) and a.images.dtype == torch.uint8
    assert a.masks.shape == (300, 32, 32) and a.masks.dtype == torch.bool


def test_chunks_across_a_block_boundary_equal_one_call():
    n = BLOCK + 300
    whole = WORLD.generate(n, seed=7)
    parts = [WORLD.generate(k, seed=7, start=s) for s, k in ((0, 500), (500, 700), (1200, n - 1200))]
    for before, after in zip(parts, parts[1:], strict=False):
        assert after.attributes["index"][0] == before.attributes["index"][-1] + 1
    for key in ("images", "masks", "labels"):
        assert torch.equal(getattr(whole, key), torch.cat([getattr(p, key) for p in parts]))
    for key in whole.attributes:
        assert np.array_equal(whole.attributes[key], np.concatenate([p.attributes[key] for p in parts]))


def test_classes_are_balanced_and_cycle():
    data = WORLD.generate(40 * 7 + 3, seed=1)
    counts = data.class_counts()
    assert counts.min() == 7 and counts.max() == 8 and counts.sum() == 283
    assert data.labels[:40].tolist() == list(range(40))
    subset = WORLD.generate(90, seed=1, start=5, classes=["star-6", "disc", "window"])
    assert subset.classes == ("star-6", "disc", "window")
    assert subset.class_counts().tolist() == [30, 30, 30]
    assert subset.hierarchy.leaves == ["disc", "star-6", "window"]
    assert set(subset.attributes["shape"][subset.labels.numpy() == 1]) == {"disc"}


def test_hierarchy_has_ten_families_of_four_shapes():
    h = WORLD.hierarchy()
    families = h.nodes_at_level(1)
    assert sorted(families) == sorted(f.id for f in FAMILIES) and len(families) == 10
    assert all(len(h.leaf_descendants(f)) == 4 and len(h.children(f)) == 2 for f in families)
    assert sorted(WORLD.classes) == h.leaves and len(h.leaves) == 40
    assert all(h.level(leaf) == 3 for leaf in h.leaves)
    data = WORLD.generate(80, seed=0)
    for shape, family in zip(data.attributes["shape"], data.attributes["superclass"], strict=True):
        assert family in h.ancestors(shape)


def test_object_pixels_do_not_change_when_only_the_background_is_edited():
    """The mask is exactly where the object is drawn: swapping the background texture changes every
    pixel outside it and none inside it, and leaves every other attribute alone."""
    snow = WORLD.generate(400, seed=2, backgrounds=["snow"])
    water = WORLD.generate(400, seed=2, backgrounds=["water"])
    inside = snow.masks[:, None].expand_as(snow.images)
    assert torch.equal(snow.images[inside], water.images[inside])
    outside_changed = (snow.images != water.images).any(dim=1)[~snow.masks]
    assert outside_changed.float().mean() > 0.99
    assert torch.equal(snow.masks, water.masks)
    for key in snow.attributes:
        if key != "background":
            assert np.array_equal(snow.attributes[key], water.attributes[key]), key
    assert set(snow.attributes["background"]) == {"snow"}
    # Every object covers pixels, and none touches the image border (it is kept inside).
    area = snow.masks.sum(dim=(1, 2))
    assert area.min() > 10
    assert not snow.masks[:, 0].any() and not snow.masks[:, -1].any() and not snow.masks[:, :, 0].any()


def test_mask_geometry_matches_the_attributes():
    """Areas against closed forms, centroids against `position`, the long axis against `rotation`."""
    world = ShapeWorld(rotation=180)
    data = world.generate(240, seed=3, classes=["disc", "square", "rectangle"])
    masks, labels = data.masks.numpy(), data.labels.numpy()
    scale, position, rotation = (data.attributes[k] for k in ("scale", "position", "rotation"))
    area = masks.sum(axis=(1, 2))
    disc, square, rect = (labels == k for k in range(3))
    assert np.mean(area[disc] / (math.pi * (0.85 * scale[disc]) ** 2)) == pytest.approx(1.0, abs=0.02)
    assert np.mean(area[square] / (1.36 * scale[square]) ** 2) == pytest.approx(1.0, abs=0.02)
    rows, cols = np.indices(masks.shape[1:]) + 0.5
    for sel in (disc, square):
        cx = (masks[sel] * cols).sum(axis=(1, 2)) / area[sel]
        cy = (masks[sel] * rows).sum(axis=(1, 2)) / area[sel]
        assert np.abs(cx - position[sel, 0]).max() < 0.5 and np.abs(cy - position[sel, 1]).max() < 0.5
    for i in np.flatnonzero(rect):
        ys, xs = np.nonzero(masks[i])
        offsets = np.stack([xs + 0.5 - position[i, 0], position[i, 1] - ys - 0.5])  # y up, as `rotation`
        major = np.linalg.eigh(np.cov(offsets))[1][:, 1]
        error = (math.degrees(math.atan2(major[1], major[0])) - rotation[i] + 90.0) % 180.0 - 90.0
        assert abs(error) < 5.0


def test_polygon_masks_agree_with_pillow_rasterising_the_same_polygon():
    """A second rasteriser: PIL draws the transformed triangle at 8x and keeps pixels at least half covered."""
    from PIL import Image, ImageDraw

    world = ShapeWorld(rotation=180)
    data = world.generate(60, seed=9, classes=["equilateral"])
    for i in range(len(data)):
        s, t = data.attributes["scale"][i], math.radians(data.attributes["rotation"][i])
        cx, cy = data.attributes["position"][i]
        points = [(8 * (cx + s * (math.cos(t) * u - math.sin(t) * v)),
                   8 * (cy - s * (math.sin(t) * u + math.cos(t) * v))) for u, v in regular(3, 0.95)]
        canvas = Image.new("L", (256, 256), 0)
        ImageDraw.Draw(canvas).polygon(points, fill=1)
        reference = np.asarray(canvas, dtype=np.float32).reshape(32, 8, 32, 8).mean(axis=(1, 3)) > 0.5
        ours = data.masks[i].numpy()
        assert (reference & ours).sum() / (reference | ours).sum() > 0.9


@pytest.mark.parametrize(("texture", "check"), [
    ("grass", lambda m: m[1] > m[0] + 0.1 and m[1] > m[2] + 0.1),
    ("water", lambda m: m[2] > m[1] > m[0]),
    ("snow", lambda m: m.min() > 0.7),
    ("road", lambda m: m.max() < 0.4),
    ("sand", lambda m: m[0] > m[1] > m[2] and m.min() > 0.4),
    ("bricks", lambda m: m[0] > m[1] + 0.1),
])
def test_named_backgrounds_look_like_their_names(texture, check):
    data = WORLD.generate(120, seed=0, backgrounds=[texture])
    pixels = data.float_images().permute(1, 0, 2, 3)[:, ~data.masks]  # [3, background pixels]
    assert check(pixels.mean(dim=1).numpy()), pixels.mean(dim=1)


def test_patterned_backgrounds_have_two_tones():
    for texture in ("stripes", "checker"):
        data = WORLD.generate(60, seed=0, backgrounds=[texture])
        grey = data.float_images().mean(dim=1)[~data.masks]
        extreme = ((grey < 0.3) | (grey > 0.7)).float().mean()
        assert extreme > 0.95 and 0.25 < (grey > 0.5).float().mean() < 0.75, texture


def test_foreground_texture_shades_the_object_colour():
    data = WORLD.generate(200, seed=6, foregrounds=["plain"])
    colour = torch.from_numpy(data.attributes["colour"])
    for i in range(0, 200, 17):
        pixels = data.images[i][:, data.masks[i]].float()  # plain: every object pixel is its colour
        assert torch.allclose(pixels, (255 * colour[i])[:, None].floor().expand_as(pixels), atol=1.0)


def test_spurious_background_correlation():
    classes = ["disc", "square", "plus"]
    mapping = {"disc": "grass", "square": "water"}
    data = WORLD.generate(3000, seed=11, classes=classes, background_for_class=mapping, spurious_correlation=0.8)
    labels, background = data.labels.numpy(), data.attributes["background"]
    n = (labels == 0).sum()
    rate = (background[labels == 0] == "grass").mean()
    assert abs(rate - 0.8) < 4 * math.sqrt(0.8 * 0.2 / n)
    assert (background[labels == 1] == "water").mean() == pytest.approx(0.8, abs=4 * math.sqrt(0.16 / n))
    plus = background[labels == 2]  # no assigned texture: uniform over all ten
    assert 0.05 < (plus == "grass").mean() < 0.16
    full = WORLD.generate(600, seed=11, classes=classes, background_for_class=mapping, spurious_correlation=1.0)
    assert set(full.attributes["background"][full.labels.numpy() == 0]) == {"grass"}
    # The correlation changes backgrounds only: the objects are the same images as without it.
    plain = WORLD.generate(600, seed=11, classes=classes)
    assert torch.equal(full.masks, plain.masks)
    assert np.array_equal(full.attributes["foreground"], plain.attributes["foreground"])


def test_foreground_correlation_with_a_texture_list():
    data = WORLD.generate(400, seed=3, classes=["bar", "bullseye"], foregrounds=["stripes", "dots"],
                          foreground_for_class={"bar": "stripes", "bullseye": "dots"}, spurious_correlation=0.0)
    fg, labels = data.attributes["foreground"], data.labels.numpy()
    assert set(fg[labels == 0]) == {"dots"} and set(fg[labels == 1]) == {"stripes"}  # correlation 0: always the other


def test_the_foreground_can_follow_the_class_apart_from_the_background():
    """foreground_correlation ties the object's texture to the class on its own: here always, while the background
    never shows its class's texture (spurious_correlation 0)."""
    data = WORLD.generate(400, seed=3, classes=["bar", "bullseye"], foregrounds=["stripes", "dots"],
                          backgrounds=["snow", "sand"], foreground_for_class={"bar": "stripes", "bullseye": "dots"},
                          background_for_class={"bar": "snow", "bullseye": "sand"}, spurious_correlation=0.0,
                          foreground_correlation=1.0)
    fg, bg, labels = data.attributes["foreground"], data.attributes["background"], data.labels.numpy()
    assert set(fg[labels == 0]) == {"stripes"} and set(fg[labels == 1]) == {"dots"}
    assert set(bg[labels == 0]) == {"sand"} and set(bg[labels == 1]) == {"snow"}


def test_other_sizes_render():
    big = ShapeWorld(size=64).generate(50, seed=0)
    assert big.images.shape == (50, 3, 64, 64)
    assert big.masks.float().mean() > 0.05


def test_smooth_noise_equals_torch_bilinear_interpolation():
    coarse = np.random.default_rng(0).random((5, 6, 6), dtype=np.float32)
    reference = torch.nn.functional.interpolate(torch.from_numpy(coarse)[:, None], size=(32, 32), mode="bilinear",
                                                align_corners=False)[:, 0].numpy()
    assert np.abs(_smooth(coarse, 32) - reference).max() < 1e-5


@pytest.mark.parametrize("kwargs", [
    {"classes": ["disc", "unicorn"]},
    {"classes": []},
    {"classes": ["disc", "disc"]},
    {"backgrounds": ["lava"]},
    {"background_for_class": {"disc": "snow"}, "classes": ["square"]},
    {"foreground_for_class": {"disc": "moss"}},
    {"spurious_correlation": 1.5},
    {"foreground_correlation": -0.1},
    {"n": -1},
    {"seed": -3},
])
def test_bad_options_are_one_line_errors(kwargs):
    kwargs = {"n": 10, **kwargs}
    with pytest.raises(TonyError) as err:
        WORLD.generate(kwargs.pop("n"), seed=kwargs.pop("seed", 0), **kwargs)
    assert err.value.exit_code == 2 and "\n" not in str(err.value)


def test_world_settings_are_validated_as_a_spec():
    with pytest.raises(SpecError, match="size"):
        ShapeWorld.parse({"size": 4})
    with pytest.raises(SpecError):
        ShapeWorld.parse({"min_scale": 0.8, "max_scale": 0.5})
    assert ShapeWorld().key() == ShapeWorld.parse({}).key() != ShapeWorld(size=64).key()


def test_every_shape_fits_in_the_unit_disc_and_is_distinct():
    """The renderer keeps objects inside the image only if each shape lies in the unit disc."""
    from tony.vision.data.shapes import SHAPES

    grid = np.linspace(-1.2, 1.2, 201, dtype=np.float32)
    u, v = np.meshgrid(grid, grid)
    outside = u * u + v * v > 1.0
    drawn = {}
    for name, shape in SHAPES.items():
        inside = shape(u, v)
        assert inside.mean() > 0.05 and not (inside & outside).any(), name
        drawn[name] = inside
    names = list(drawn)
    for i, a in enumerate(names):  # no two subclasses are the same set of points
        for b in names[i + 1:]:
            assert (drawn[a] ^ drawn[b]).mean() > 0.02, (a, b)
