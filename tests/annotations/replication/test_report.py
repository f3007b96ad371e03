"""The replication plot: least-squares lines, clipped to the plot's square, one point per model and series."""

from __future__ import annotations

import pytest

from tony.annotations.replication.report import _clip, accuracy_plot, fit_line


def test_fit_line_is_least_squares():
    a, b = fit_line([(0.5, 0.4, "m1"), (0.7, 0.58, "m2"), (0.9, 0.76, "m3")])
    assert (a, b) == (pytest.approx(-0.05), pytest.approx(0.9))
    assert fit_line([(0.5, 0.4, "m1")]) is None


def test_clip_keeps_the_part_of_a_line_inside_the_square():
    assert _clip(0.0, 2.0, 0.0, 1.0) == [(0.0, 0.0), (0.5, 1.0)]
    assert _clip(0.5, 0.0, 0.0, 1.0) == [(0.0, 0.5), (1.0, 0.5)]
    assert _clip(2.0, 1.0, 0.0, 1.0) is None


def test_plot_has_a_point_per_model_and_series_and_escapes_names():
    svg = accuracy_plot({"raw": [(0.6, 0.5, "<m1>"), (0.8, 0.72, "m2")], "jackknife": [(0.6, 0.58, "<m1>"),
                                                                                       (0.8, 0.79, "m2")]},
                        title="t")
    assert svg.count('<circle class="dot') == 4 + 2  # points and legend marks
    assert svg.count('<line class="line') == 2 and "<m1>" not in svg and "&lt;m1&gt;" in svg
