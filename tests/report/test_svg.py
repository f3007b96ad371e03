"""The hand-made SVG plots: well-formed, escaped, and drawing what they are given."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from tony.report.svg import Bar, Point, ReliabilityBin, interval_bars, reliability_diagram, scatter

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


def test_scatter_with_no_points_is_still_a_plot():
    parse(scatter([], title="t", x_label="x", y_label="y"))
