"""OpenBookQA from its JSONL test file: four options each, both multiple-choice methods, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from shelf import shelf_path
from tony.core.errors import DataError, DataNotInstalledError
from tony.lm.adapters.base import AdapterSpec, PromptFormat
from tony.lm.adapters.multiple_choice import JointAdapter, SeparateAdapter
from tony.lm.scenarios.openbookqa import DATASET, FILE, OpenBookQAScenario
from tony.lm.types import Completion

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shelf_instances():
    root = shelf_path(FILE).parents[1]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TONY_DATA", str(root))
        yield OpenBookQAScenario().instances()


def test_the_real_test_file(shelf_instances):
    assert len(shelf_instances) == 500 and len({i.id for i in shelf_instances}) == 500
    for instance in shelf_instances:
        assert len(instance.references) == 4 and len(instance.correct_outputs) == 1
        assert instance.extra["labels"] == ["A", "B", "C", "D"]
        correct_at = [r.is_correct for r in instance.references].index(True)
        assert "ABCD"[correct_at] == instance.extra["answerKey"]
    # The first line, read by hand.
    first = shelf_instances[0]
    assert first.id == "8-343" and first.input.startswith("A person wants to start saving money")
    assert [r.output for r in first.references] == ["make more phone calls", "quit eating lunch out",
                                                     "buy less with monopoly money", "have lunch with friends"]
    assert first.correct_outputs == ["quit eating lunch out"] and first.extra["line"] == 1
    assert Counter(i.extra["answerKey"] for i in shelf_instances) == {"A": 138, "C": 132, "B": 126, "D": 104}
    assert OpenBookQAScenario().default_method() == "multiple_choice_separate"
    assert DATASET.license == "Apache-2.0" and DATASET.source == "https://allenai.org/data/open-book-qa"


def test_joint_and_separate_on_a_real_question(shelf_instances):
    question = shelf_instances[0]
    joint = JointAdapter(AdapterSpec(method="multiple_choice_joint"), PromptFormat())
    requests, context = joint.requests(question, [], np.random.default_rng(3))
    assert requests[0].continuations == (" A", " B", " C", " D")
    for letter, option in zip("ABCD", context["options"], strict=True):
        assert f"\n{letter}. {option}" in requests[0].prompt
    assert requests[0].prompt.endswith("\nAnswer:")
    scores = tuple(-0.5 if o == "quit eating lunch out" else -2.0 for o in context["options"])
    scored = joint.score(question, [Completion(continuation_logprobs=scores)], context)
    assert scored.stats["accuracy"] == 1.0
    assert scored.stats["correct_mass"] == pytest.approx(np.exp(-0.5) / (np.exp(-0.5) + 3 * np.exp(-2.0)))

    separate = SeparateAdapter(AdapterSpec(), PromptFormat())
    requests, context = separate.requests(question, [], np.random.default_rng(3))
    assert requests[0].prompt == f"Q: {question.input}\nA:"
    assert sorted(requests[0].continuations) == sorted(f" {r.output}" for r in question.references)


def test_both_methods_build_a_run(shelf_root):
    from tony.lm.suite import build_spec

    for method in ("multiple_choice_joint", "multiple_choice_separate"):
        spec = build_spec({"scenario": "openbookqa", "method": method})
        assert spec.adapter.method == method and spec.scenario_args == {}


# ---------------------------------------------------------------- bad input

GOOD = {"id": "7-1", "question": {"stem": "Sun is a", "choices": [
    {"text": "star", "label": "A"}, {"text": "planet", "label": "B"},
    {"text": "moon", "label": "C"}, {"text": "comet", "label": "D"}]}, "answerKey": "A"}


def write_lines(root: Path, lines: list[object]) -> Path:
    path = root / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


def with_(**changes) -> dict:
    row = json.loads(json.dumps(GOOD))
    row.update(changes)
    return row


@pytest.mark.parametrize(("bad", "needles"), [
    ('{"id": "x", "question": ', ["invalid JSON"]),
    ("[1, 2, 3]", ["expected a JSON object, got list"]),
    ({k: v for k, v in GOOD.items() if k != "answerKey"}, ["missing 'answerKey'"]),
    (with_(question={"stem": "No choices"}), ["'question' must be an object"]),
    (with_(answerKey="E"), ["answerKey 'E' is not one of the labels"]),
    (with_(question={"stem": "s", "choices": [{"text": "a", "label": "A"}, {"label": "B"}]}), ["'text'"]),
    (with_(id="7-0"), ["duplicate id '7-0'", "line 1"]),
])
def test_bad_lines(tmp_path, monkeypatch, bad, needles):
    path = write_lines(tmp_path, [with_(id="7-0"), "", bad])
    monkeypatch.setenv("TONY_DATA", str(tmp_path))
    with pytest.raises(DataError) as caught:
        OpenBookQAScenario().instances()
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}:3: ")
    for needle in needles:
        assert needle in message, (needle, message)


def test_options_in_label_order(tmp_path, monkeypatch):
    shuffled = with_(question={"stem": "Sun is a", "choices": list(reversed(GOOD["question"]["choices"]))})
    write_lines(tmp_path, [shuffled])
    monkeypatch.setenv("TONY_DATA", str(tmp_path))
    (instance,) = OpenBookQAScenario().instances()
    assert [r.output for r in instance.references] == ["star", "planet", "moon", "comet"]
    assert instance.correct_outputs == ["star"]


def test_missing_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TONY_DATA", str(tmp_path))
    with pytest.raises(DataNotInstalledError, match="openbookqa/test.jsonl not found"):
        OpenBookQAScenario().instances()


def test_cli_reports_a_bad_line_in_one_line(tmp_path):
    path = write_lines(tmp_path / "data", [GOOD, "not json"])
    env = {**os.environ, "TONY_DATA": str(tmp_path / "data"), "TONY_PROGRESS": "0"}
    done = subprocess.run([sys.executable, "-m", "tony.cli", "run", "openbookqa:method=multiple_choice_joint",
                           "--store", str(tmp_path / "store")], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith(f"{path}:2: invalid JSON (Expecting value at column 1); fix the line")
