"""The hand-made SVG plots: well-formed, escaped, and drawing what they are given."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from tony.report.svg import Bar, Point, ReliabilityBin, Series, interval_bars, line_plot, reliability_diagram, scatter

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script>"&'


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything not well-formed


def test_reliability_diagram_draws_a_bar_per_filled_bin():
    bins = [ReliabilityBin(i / 10, (i + 1) / 10, i / 10 + 0.05, 0.5, 0 if i % 2 else 7) for i in range(10)]
    root = parse(reliability_diagram(bins, title=HOSTILE))
    assert len(root.findall(f"{NS}rect")) == 5
    assert root.get("aria-label") == HOSTILE
    assert root.find(f"{NS}text").text == HOSTILE


def test_interval_bars_have_a_whisker_each_and_escape_labels():
    bars = [Bar("accuracy", 0.6, 0.5, 0.7, "base"), Bar(HOSTILE, 0.4, 0.3, 0.5), Bar("none", math.nan, math.nan,
                                                                                         math.nan)]
    root = parse(interval_bars(bars, title="t", axis_label="accuracy"))
    assert len(root.findall(f".//{NS}rect")) == 2
    assert len(root.findall(f".//{NS}line[@class='whisker']")) == 2
    assert any(t.text.startswith(HOSTILE + ": 0.400") for t in root.iter(f"{NS}title"))


def test_scatter_colours_groups_and_falls_back_to_linear_for_non_positive_x():
    points = [Point(0.0, 0.5, "a", "m1"), Point(2.0, 0.7, HOSTILE, "m2"), Point(math.inf, 0.1, "skip", "m1")]
    svg = scatter(points, title="t", x_label="seconds", y_label="accuracy", log_x=True)
    root = parse(svg)
    dots = [c for c in root.iter(f"{NS}circle") if c.find(f"{NS}title") is not None]
    assert [d.find(f"{NS}title").text for d in dots] == ["a", HOSTILE]
    assert "log scale" not in svg
    assert {d.get("class") for d in dots} == {"dot g0", "dot g1"}
    (x0, y0), (x2, y2) = ((float(d.get("cx")), float(d.get("cy"))) for d in dots)
    assert 52 < x0 < x2 < 460 and 30 < y2 < y0 < 256  # x=2 right of x=0; y=0.7 above y=0.5 (SVG's y grows down)
    assert (y0 - 256) / (y2 - 256) == pytest.approx(0.5 / 0.7, rel=1e-2)  # y from 0 at the x axis, to 1 at the top
    assert (x0 - 52) / (x2 - 52) == pytest.approx(0.16 / 2.16, rel=1e-2)  # linear x, padded 8% of the range each side


def test_scatter_with_no_points_is_still_a_plot():
    root = parse(scatter([], title="t", x_label="seconds", y_label="accuracy"))
    assert root.tag == f"{NS}svg" and root.get("aria-label") == "t" and root.get("viewBox") == "0 0 610 300"
    assert len(root.findall(f"{NS}line[@class='axis']")) == 2
    assert len(root.findall(f"{NS}line[@class='tick']")) == 3 and len(root.findall(f"{NS}line[@class='grid']")) == 3
    # The title, the x ticks and y ticks of an empty unit square, then the axis labels.
    assert [t.text for t in root.iter(f"{NS}text")] == ["t", "0", "0.5", "1", "0", "0.5", "1", "seconds", "accuracy"]
    assert root.findall(f".//{NS}circle") == []  # no dots, no legend


def test_line_plot_draws_a_line_and_band_per_series_clipped_and_broken_at_gaps():
    nan = math.nan
    series = [Series("a", [0, 1, 2, 3], [1.0, 0.5, nan, 0.1], [0.9, 0.4, nan, 0.0], [1.1, 0.6, nan, 0.2]),
              Series(HOSTILE, [0, 1, 2, 3], [5.0, 3.0, 1.0, 0.0])]
    root = parse(line_plot(series, title="t", x_label="k", y_label="error", y_max=2.0))
    lines = root.findall(f".//{NS}polyline")
    assert len(lines) == 3  # "a" broken at its NaN, the other whole
    assert len(root.findall(f".//{NS}polygon")) == 2  # "a"'s band, in two pieces; no band without intervals
    tops = [float(p.split(",")[1]) for p in lines[-1].get("points").split()]
    assert min(tops) >= 30  # values above y_max drawn at the top edge, not above it
    assert any(t.text == HOSTILE for t in root.iter(f"{NS}title"))
