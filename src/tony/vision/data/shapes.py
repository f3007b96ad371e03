"""The shapes of the generated world: 10 superclasses (shape families), each with 2 groups of 2 subclasses.

Every shape is an implicit function: given object-frame coordinates ``(u, v)`` (float arrays of any equal
shape; the object fits in the unit disc) it returns a bool array, true inside the shape. Shapes are
unions and differences of a few primitives (discs, boxes, convex polygons, polar stars), so a whole
batch of images is rasterised with a handful of array operations per class.

A subclass is a distinct shape or part arrangement within its family (a plus, an H, a T and an L are
all "crosses"). The two groups in each family give the hierarchy a level between superclass and shape,
so BREEDS-style "good" and "bad" splits (a group spread over or kept on one side of the split) mean
something on this world too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray
ShapeFn = Callable[[Array, Array], Array]


def disc(u: Array, v: Array, cx: float, cy: float, r: float) -> Array:
    return (u - cx) ** 2 + (v - cy) ** 2 < r * r


def box(u: Array, v: Array, cx: float, cy: float, half_w: float, half_h: float) -> Array:
    return (np.abs(u - cx) < half_w) & (np.abs(v - cy) < half_h)


def polygon(u: Array, v: Array, vertices: list[tuple[float, float]]) -> Array:
    """Inside a convex polygon: on the inner side of every edge (vertices in either winding order)."""
    area2 = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(vertices, vertices[1:] + vertices[:1], strict=True))
    if area2 < 0:  # clockwise: walk it the other way, so the inside is always to the left
        vertices = vertices[::-1]
    inside = np.ones(u.shape, dtype=bool)
    for (x1, y1), (x2, y2) in zip(vertices, vertices[1:] + vertices[:1], strict=True):
        inside &= (x2 - x1) * (v - y1) - (y2 - y1) * (u - x1) > 0
    return inside


def regular(sides: int, radius: float, start_deg: float = 90.0) -> list[tuple[float, float]]:
    """Counter-clockwise vertices of a regular polygon centred on the origin."""
    return [(radius * math.cos(math.radians(start_deg + 360.0 * k / sides)),
             radius * math.sin(math.radians(start_deg + 360.0 * k / sides))) for k in range(sides)]


def star(u: Array, v: Array, points: int, inner: float, outer: float) -> Array:
    """A star whose radius falls linearly in angle from `outer` at each point to `inner` between points."""
    sector = 2.0 * math.pi / points
    # Angle measured from the +v axis, so one point always faces "up" in the object frame.
    angle = np.arctan2(u, v)
    offset = np.remainder(angle + sector / 2, sector) - sector / 2
    limit = outer - (outer - inner) * np.abs(offset) / (sector / 2)
    return u * u + v * v < limit * limit


def ring(u: Array, v: Array, inner: float, outer: float) -> Array:
    r2 = u * u + v * v
    return (r2 < outer * outer) & (r2 > inner * inner)


# Each shape below is drawn in its own object frame: up is +v, the object fits in the unit disc.

def _half_disc(u: Array, v: Array) -> Array:
    return disc(u, v, 0.0, -0.3, 0.9) & (v > -0.3)


def _crescent(u: Array, v: Array) -> Array:
    return disc(u, v, 0.0, 0.0, 0.85) & ~disc(u, v, 0.38, 0.0, 0.68)


def _parallelogram(u: Array, v: Array) -> Array:
    return (np.abs(v) < 0.5) & (np.abs(u - 0.6 * v) < 0.5)


def _trapezoid(u: Array, v: Array) -> Array:
    return (np.abs(v) < 0.52) & (np.abs(u) < 0.58 - 0.45 * v)


def _h_shape(u: Array, v: Array) -> Array:
    return box(u, v, -0.48, 0.0, 0.18, 0.72) | box(u, v, 0.48, 0.0, 0.18, 0.72) | box(u, v, 0.0, 0.0, 0.5, 0.18)


def _t_shape(u: Array, v: Array) -> Array:
    return box(u, v, 0.0, 0.5, 0.72, 0.18) | box(u, v, 0.0, -0.2, 0.18, 0.65)


def _l_shape(u: Array, v: Array) -> Array:
    return box(u, v, -0.4, 0.05, 0.18, 0.75) | box(u, v, 0.05, -0.52, 0.63, 0.18)


def _dumbbell(u: Array, v: Array) -> Array:
    return box(u, v, 0.0, 0.0, 0.65, 0.11) | disc(u, v, -0.62, 0.0, 0.3) | disc(u, v, 0.62, 0.0, 0.3)


def _bars(count: int, half_h: float, gap: float, half_w: float = 0.75) -> ShapeFn:
    centres = [gap * (k - (count - 1) / 2) for k in range(count)]

    def shape(u: Array, v: Array) -> Array:
        inside = box(u, v, 0.0, centres[0], half_w, half_h)
        for c in centres[1:]:
            inside |= box(u, v, 0.0, c, half_w, half_h)
        return inside

    return shape


def _dots(centres: list[tuple[float, float]], radius: float = 0.27) -> ShapeFn:
    def shape(u: Array, v: Array) -> Array:
        inside = disc(u, v, *centres[0], radius)
        for c in centres[1:]:
            inside |= disc(u, v, *c, radius)
        return inside

    return shape


def _arrow(u: Array, v: Array) -> Array:
    return box(u, v, -0.35, 0.0, 0.55, 0.14) | polygon(u, v, [(0.2, -0.55), (0.95, 0.0), (0.2, 0.55)])


def _double_arrow(u: Array, v: Array) -> Array:
    heads = polygon(u, v, [(0.3, -0.5), (0.95, 0.0), (0.3, 0.5)]) | polygon(u, v, [(-0.3, 0.5), (-0.95, 0.0),
                                                                                    (-0.3, -0.5)])
    return box(u, v, 0.0, 0.0, 0.4, 0.14) | heads


def _chevron(u: Array, v: Array) -> Array:
    s = u + 0.8 * np.abs(v)
    return (s > 0.1) & (s < 0.55) & (np.abs(v) < 0.8)


def _dart(u: Array, v: Array) -> Array:
    head = polygon(u, v, [(-0.7, -0.68), (0.95, 0.0), (-0.7, 0.68)])
    return head & ~(u < -0.1 - 0.88 * np.abs(v))


def _c_ring(u: Array, v: Array) -> Array:
    return ring(u, v, 0.58, 0.9) & ~((u > 0.2) & (np.abs(v) < 0.32))


def _hollow_square(u: Array, v: Array) -> Array:
    return box(u, v, 0.0, 0.0, 0.68, 0.68) & ~box(u, v, 0.0, 0.0, 0.44, 0.44)


def _hollow_triangle(u: Array, v: Array) -> Array:
    return polygon(u, v, regular(3, 0.98)) & ~polygon(u, v, regular(3, 0.44))


def _window(u: Array, v: Array) -> Array:
    return _hollow_square(u, v) | box(u, v, 0.0, 0.0, 0.1, 0.68) | box(u, v, 0.0, 0.0, 0.68, 0.1)


def _framed_bar(u: Array, v: Array) -> Array:
    return _hollow_square(u, v) | box(u, v, 0.0, 0.0, 0.68, 0.1)


@dataclass(frozen=True)
class Family:
    """A superclass: a shape family with two named groups of two shapes each."""

    id: str
    name: str
    groups: tuple[tuple[str, tuple[tuple[str, ShapeFn], ...]], ...]
    """(group id, ((shape id, implicit function), ...)), in hierarchy order."""


FAMILIES: tuple[Family, ...] = (
    Family("round", "round shape", (
        ("round-solid", (("disc", lambda u, v: disc(u, v, 0.0, 0.0, 0.85)),
                         ("ellipse", lambda u, v: (u / 0.95) ** 2 + (v / 0.48) ** 2 < 1.0))),
        ("round-cut", (("half-disc", _half_disc), ("crescent", _crescent))),
    )),
    Family("box", "four-sided shape", (
        ("box-right", (("square", lambda u, v: box(u, v, 0.0, 0.0, 0.68, 0.68)),
                       ("rectangle", lambda u, v: box(u, v, 0.0, 0.0, 0.88, 0.44)))),
        ("box-slanted", (("parallelogram", _parallelogram), ("trapezoid", _trapezoid))),
    )),
    Family("triangle", "triangle", (
        ("triangle-acute", (("equilateral", lambda u, v: polygon(u, v, regular(3, 0.95))),
                            ("tall-triangle", lambda u, v: polygon(u, v, [(0.0, 0.95), (-0.38, -0.8),
                                                                          (0.38, -0.8)])))),
        ("triangle-wide", (("right-triangle", lambda u, v: polygon(u, v, [(-0.68, -0.68), (0.72, -0.68),
                                                                          (-0.68, 0.72)])),
                           ("obtuse-triangle", lambda u, v: polygon(u, v, [(-0.92, -0.38), (0.92, -0.38),
                                                                           (0.3, 0.35)])))),
    )),
    Family("star", "star", (
        ("star-few", (("star-3", lambda u, v: star(u, v, 3, 0.3, 0.95)),
                      ("star-4", lambda u, v: star(u, v, 4, 0.32, 0.95)))),
        ("star-many", (("star-6", lambda u, v: star(u, v, 6, 0.45, 0.95)),
                       ("star-8", lambda u, v: star(u, v, 8, 0.55, 0.95)))),
    )),
    Family("cross", "cross", (
        ("cross-symmetric", (("plus", lambda u, v: box(u, v, 0, 0, 0.2, 0.85) | box(u, v, 0, 0, 0.85, 0.2)),
                             ("h-shape", _h_shape))),
        ("cross-asymmetric", (("t-shape", _t_shape), ("l-shape", _l_shape))),
    )),
    Family("bars", "bar shape", (
        ("bars-single", (("bar", lambda u, v: box(u, v, 0.0, 0.0, 0.9, 0.2)), ("dumbbell", _dumbbell))),
        ("bars-parallel", (("two-bars", _bars(2, 0.17, 0.7)), ("three-bars", _bars(3, 0.13, 0.5)))),
    )),
    Family("cluster", "cluster of dots", (
        ("cluster-few", (("two-dots", _dots([(-0.5, 0.0), (0.5, 0.0)])),
                         ("three-dots", _dots(regular(3, 0.55))))),
        ("cluster-many", (("four-dots", _dots(regular(4, 0.62, 45.0))),
                          ("five-dots", _dots(regular(4, 0.68, 45.0) + [(0.0, 0.0)], 0.24)))),
    )),
    Family("arrow", "arrow", (
        ("arrow-shaft", (("single-arrow", _arrow), ("double-arrow", _double_arrow))),
        ("arrow-head", (("chevron", _chevron), ("dart", _dart))),
    )),
    Family("ring", "ring", (
        ("ring-single", (("plain-ring", lambda u, v: ring(u, v, 0.58, 0.9)), ("c-ring", _c_ring))),
        ("ring-nested", (("double-ring", lambda u, v: ring(u, v, 0.72, 0.95) | ring(u, v, 0.28, 0.5)),
                         ("bullseye", lambda u, v: ring(u, v, 0.58, 0.9) | disc(u, v, 0.0, 0.0, 0.3)))),
    )),
    Family("frame", "frame", (
        ("frame-plain", (("hollow-square", _hollow_square), ("hollow-triangle", _hollow_triangle))),
        ("frame-divided", (("window", _window), ("framed-bar", _framed_bar))),
    )),
)
"""The world's superclasses, in hierarchy order."""

ROOT = "shape"
"""The hierarchy's root node."""
SHAPES: dict[str, ShapeFn] = {shape: fn for f in FAMILIES for _, members in f.groups for shape, fn in members}
"""Every subclass (a leaf of the hierarchy) by id, with its implicit function."""


def world_edges() -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The hierarchy's (parent, child) edges and node names: root -> family -> group -> shape."""
    edges: list[tuple[str, str]] = []
    names = {ROOT: "shape"}
    for family in FAMILIES:
        edges.append((ROOT, family.id))
        names[family.id] = family.name
        for group, members in family.groups:
            edges.append((family.id, group))
            names[group] = group.replace("-", " ")
            for shape, _ in members:
                edges.append((group, shape))
                names[shape] = shape.replace("-", " ")
    return edges, names
