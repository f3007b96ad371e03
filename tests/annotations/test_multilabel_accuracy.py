"""Scoring predictions under the annotations, and the breakdowns, against counts done by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tony.annotations.multilabel.accuracy import model_stats, objects_bucket, proportion_stat, score
from tony.annotations.multilabel.aggregate import ImageSummary, summarize
from tony.annotations.multilabel.predictions import Prediction
from tony.annotations.multilabel.schema import ImageAnnotations
from tony.core.stats import bootstrap_ci


def test_scores_of_one_image_under_each_first_stage_outcome():
    # Objects: {7} and {1, 2}; main label 1; benchmark label 2.
    summary = summarize(ImageAnnotations("x", 2, ((1, 7), (2, 7), (1,), (1, 7), (2, 7)), (1, 7, 1, 1, 2)))
    assert score(Prediction((7, 2, 0, 3, 4), 2), "fu", summary) == {
        "top1": False, "top5": True, "multilabel_top1": True, "main_top1": False}
    assert score(Prediction((1, 0, 3, 4, 5), 2), "fu", summary) == {
        "top1": False, "top5": False, "multilabel_top1": True, "main_top1": True}
    assert score(Prediction((9, 0, 3, 4, 5), 2), "fu", summary)["multilabel_top1"] is False
    assert score(Prediction((5, 0, 3, 4, 6), 5), "easy", None) == {
        "top1": True, "top5": True, "multilabel_top1": True, "main_top1": True}
    assert score(Prediction((5, 0, 3, 4, 6), 5), "mis", None) == {
        "top1": True, "top5": True, "multilabel_top1": None, "main_top1": None}
    assert [objects_bucket(k) for k in (None, 1, 3, 4, 6)] == [None, "1", "3", "4+", "4+"]


def test_the_closed_form_bootstrap_of_a_fraction_matches_resampling():
    values = list(np.random.default_rng(0).random(3000) < 0.3)
    closed = proportion_stat("x", values, seed=1)
    low, high = bootstrap_ci(np.asarray(values, dtype=float), seed=2)
    assert closed.value == pytest.approx(np.mean(values)) and closed.n == 3000
    assert closed.ci_low == pytest.approx(low, abs=0.004) and closed.ci_high == pytest.approx(high, abs=0.004)
    assert proportion_stat("x", [True] * 5).ci_low == 1.0 and proportion_stat("x", []).n == 0


def record(category, objects, superclass, label, main, valid, top1):
    summary = None if objects is None else ImageSummary("x", label, 9, {}, objects, main, False, tuple(valid), ())
    verdict = score(Prediction((top1, 90, 91, 92, 93), label), category, summary)
    return {"category": category, "objects": objects, "superclass": superclass, "label": label,
            "models": {"m": verdict}}


def test_breakdowns_count_the_right_images():
    records = [record("fu", 1, "dogs", 1, 1, [1], 1),        # all right
               record("fu", 2, "dogs", 1, 5, [5, 1], 5),     # multi-label and main right, top-1 wrong
               record("fu", 5, None, 2, 2, [2, 3], 3),       # multi-label right only
               record("easy", None, "cats", 4, None, [], 4),  # one object, everything right
               record("mis", None, "cats", 6, None, [], 0)]   # top-1 wrong; multi-label undefined
    stats = {(s.name, s.subgroup): (s.value, s.n) for s in model_stats(records, "m")}
    assert stats[("top1", "")] == (pytest.approx(2 / 5), 5)
    assert stats[("multilabel_top1", "")] == (1.0, 4) and stats[("main_top1", "")] == (pytest.approx(3 / 4), 4)
    assert stats[("top1", "first_stage:fu")] == (pytest.approx(1 / 3), 3)
    assert stats[("top1", "objects:1")] == (1.0, 2)  # the fu image with one object and the easy one
    assert stats[("multilabel_top1", "objects:4+")] == (1.0, 1) and ("top1", "objects:None") not in stats
    assert stats[("top1", "superclass:other")] == (0.0, 1) and stats[("top1", "superclass:cats")] == (0.5, 2)
    assert {s.split for s in model_stats(records, "m")} == {"m"} and model_stats(records, "absent") == []
