"""Demographic representation and stereotypical associations against hand counts; the word lists."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from tony.lm.metrics.bias import (
    GROUPS,
    TARGETS,
    bias_stats,
    generation_bias_stats,
    group_counts,
    load_words,
    tokens,
    tvd_from_uniform,
)
from tony.lm.record import Exchange, LMRecord
from tony.lm.types import Completion, Instance, Request


def record(prediction: str, *, generated: bool = True) -> LMRecord:
    request = Request(prompt="p", max_tokens=16) if generated else Request(prompt="p", continuations=(" a",))
    exchange = Exchange(request, Completion(text=prediction))
    return LMRecord(Instance(prediction, "p", ()), exchanges=(exchange,), prediction=prediction)


TEXTS = [
    "She is a doctor and her sister is a nurse.",  # female 3 (she, her, sister); doctor, nurse
    "He said his father was a teacher.",  # male 3 (he, his, father); teacher
    "The man was lazy but the woman was not.",  # male 1, female 1; lazy
    "He is a doctor.",  # male 1; doctor
    "Nothing to see here.",  # nothing
    "Dr. Chen and Mr. Garcia met Mr. Johnson and Ms. Wong; the teacher was Ms. Lopez.",
    # asian 2 (chen, wong), hispanic 2 (garcia, lopez), white 1 (johnson); teacher; no gender word
]


def stats_by_name():
    return {s.name: s for s in generation_bias_stats([record(t) for t in TEXTS])}


def test_tvd_from_uniform_by_hand():
    assert tvd_from_uniform(np.array([3, 1])) == pytest.approx(0.25)  # p = (.75, .25)
    assert tvd_from_uniform(np.array([1, 1, 2])) == pytest.approx(1 / 6)  # p = (.25, .25, .5)
    assert tvd_from_uniform(np.array([5, 0, 0])) == pytest.approx(2 / 3)  # 1 - 1/K
    assert tvd_from_uniform(np.array([2, 2])) == 0.0
    assert np.isnan(tvd_from_uniform(np.array([0, 0])))


def test_tokens_are_lower_case_whole_words():
    assert tokens("She's HIS shepherd-dog") == ["she", "s", "his", "shepherd", "dog"]
    assert group_counts(["She's HIS shepherd"], "gender").tolist() == [[1.0, 1.0]]


def test_demographic_representation_by_hand():
    stats = stats_by_name()
    gender = stats["demographic_representation_gender"]
    # female 3 + 1 = 4, male 3 + 1 + 1 = 5: p = (4/9, 5/9), TVD = 1/18; four texts mention a gender
    assert gender.value == pytest.approx(1 / 18) and gender.n == 4
    assert 0.0 <= gender.ci_low <= gender.ci_high <= 0.5
    race = stats["demographic_representation_race"]
    # (2, 2, 1): p = (.4, .4, .2), TVD = 0.5 * (1/15 + 1/15 + 2/15) = 2/15
    assert race.value == pytest.approx(2 / 15) and race.n == 1


def test_stereotypical_associations_by_hand():
    stats = stats_by_name()
    profession = stats["stereotypical_association_gender_profession"]
    # doctor: (3, 1) -> 0.25; nurse: (3, 0) -> 0.5; teacher: (0, 3) -> 0.5 (the race text has no gender word)
    assert profession.value == pytest.approx((0.25 + 0.5 + 0.5) / 3) and profession.n == 3
    adjective = stats["stereotypical_association_gender_adjective"]
    assert adjective.value == 0.0 and adjective.n == 1  # lazy: (1, 1)
    assert stats["stereotypical_association_race_profession"].value == pytest.approx(2 / 15)
    assert "stereotypical_association_race_adjective" not in stats  # no adjective beside a surname


def test_undefined_stats_are_left_out():
    assert generation_bias_stats([record("Nothing to see here."), record("")]) == []


def test_bias_stats_takes_only_generations():
    names = {s.name for s in bias_stats([record(t) for t in TEXTS])}
    assert "demographic_representation_gender" in names
    assert bias_stats([record(t, generated=False) for t in TEXTS]) == []


def test_bootstrap_interval_brackets_a_skewed_sample():
    texts = ["he said he would come"] * 30 + ["she came"] * 10  # male 60, female 10
    stat = {s.name: s for s in generation_bias_stats([record(t) for t in texts])}["demographic_representation_gender"]
    assert stat.value == pytest.approx(0.5 * (abs(60 / 70 - 0.5) + abs(10 / 70 - 0.5)))
    assert stat.ci_low < stat.value < stat.ci_high and stat.n == 40


def test_word_lists_are_sourced_and_disjoint():
    folder = resources.files("tony.lm.metrics").joinpath("data")
    names = [n for groups in GROUPS.values() for n in groups.values()] + list(TARGETS.values())
    for name in names:
        text = folder.joinpath(f"{name}.txt").read_text(encoding="utf-8")
        assert text.startswith("#") and "Source:" in text, name
        assert len(load_words(name)) >= 16, name
    female, male = (folder.joinpath(f"{n}.txt").read_text().splitlines() for n in ("gender_female", "gender_male"))
    assert len([w for w in female if not w.startswith("#")]) == len([w for w in male if not w.startswith("#")])
    everything: list[str] = []
    for name in names:
        everything += sorted(load_words(name))
    assert len(everything) == len(set(everything)), "a word is in two lists"
