"""Aggregation rules, checked by hand on small images and against the truth of simulated ones."""

from __future__ import annotations

from collections import Counter

import pytest
from multilabel_helpers import simulate

from tony.annotations.multilabel.aggregate import co_selection, dataset_stats, group_objects, summarize
from tony.annotations.multilabel.schema import ImageAnnotations


def image(selected, main, label=1) -> ImageAnnotations:
    return ImageAnnotations("x.JPEG", label, tuple(tuple(s) for s in selected), tuple(main))


def test_frequencies_objects_and_main_label_by_hand():
    # Five annotators; labels 1 and 2 are alternatives for one object, 7 is a second object.
    s = summarize(image([[1, 7], [2, 7], [1], [1, 7], [2, 7]], [1, 7, 1, 1, 2], label=2))
    assert s.frequency == {1: 0.6, 7: 0.8, 2: 0.4} and list(s.frequency) == [7, 1, 2]
    assert s.objects == 2  # sizes 2, 2, 1, 2, 2
    assert s.main == 1 and not s.main_tied and not s.main_is_label
    assert s.valid == (7, 1, 2)
    assert s.groups == ((7,), (1, 2))  # 1 and 2 never chosen together; 7 with each of them often
    assert co_selection(((1, 7), (2, 7), (1,), (1, 7), (2, 7)), 1, 7) == pytest.approx(2 / 5)
    assert co_selection(((1, 7),), 3, 4) == 0.0


def test_ties_go_to_fewer_objects_and_to_the_more_selected_main_label():
    s = summarize(image([[1], [1, 2], [3], [2, 3]], [1, 2, 3, 3], label=3))
    assert s.objects == 1  # sizes 1, 2, 1, 2: a tie counts as one object
    # 3 has two main votes, alone on top: no tie
    assert s.main == 3 and not s.main_tied
    t = summarize(image([[4, 5], [5], [4, 5], [4]], [4, 5, 5, 4], label=5))
    # 4 and 5 tie on main votes (2 each) and on selection (3 each): the smaller index wins, not the label
    assert t.main == 4 and t.main_tied and not t.main_is_label
    u = summarize(image([[4, 5], [5], [5], [4]], [4, 5, 5, 4], label=4))
    assert u.main == 5 and u.main_tied  # tie on votes, 5 selected more often


def test_min_selection_drops_stray_labels():
    s = summarize(image([[1]] * 9 + [[1, 9]], [1] * 10), min_selection=0.2)
    assert s.valid == (1,) and s.frequency[9] == pytest.approx(0.1)
    assert summarize(image([[1]] * 8 + [[1, 9]] * 2, [1] * 10), min_selection=0.2).valid == (1, 9)


def test_grouping_stops_at_the_number_of_objects_and_at_the_threshold():
    selected = ((1, 2), (1, 2), (3,), (1, 3))
    # 1-2 co-selected 2/3, 1-3 1/4, 2-3 0: complete linkage merges 2 and 3 first, then (2, 3) with 1 at 2/3
    assert group_objects(selected, (1, 2, 3), objects=1, threshold=0.7) == ((1, 2, 3),)
    assert group_objects(selected, (1, 2, 3), objects=1, threshold=0.5) == ((1,), (2, 3))
    assert group_objects(selected, (1, 2, 3), objects=2, threshold=0.99) == ((1,), (2, 3))
    assert group_objects(selected, (1, 2, 3), objects=3, threshold=0.99) == ((1,), (2,), (3,))


def test_simulated_images_recover_their_objects_and_main_label():
    truth, rows = simulate(seed=3, images=200)
    summaries = [summarize(ImageAnnotations(r["image"], r["imagenet_label"], tuple(map(tuple, r["selected"])),
                                            tuple(r["main"]))) for r in rows]
    objects_right = sum(s.objects == len(t.objects) for s, t in zip(summaries, truth, strict=True))
    groups_right = sum({frozenset(g) for g in s.groups} == {frozenset(o) for o in t.objects}
                       for s, t in zip(summaries, truth, strict=True))
    main_right = sum(s.main in t.objects[0] for s, t in zip(summaries, truth, strict=True))
    assert objects_right >= 190 and groups_right >= 170 and main_right >= 195
    stats = dataset_stats(summaries, {s.image: "fu" for s in summaries})
    assert stats.images == 200
    assert stats.objects == dict(sorted(Counter(s.objects for s in summaries).items()))
    assert abs(stats.multi_object_images - sum(len(t.objects) > 1 for t in truth)) <= 10
    assert stats.main_label_is_benchmark_label == sum(s.main == s.label for s in summaries)
