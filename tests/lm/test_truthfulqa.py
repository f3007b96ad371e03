"""TruthfulQA from the original CSV: MC1 and MC2 references, subgroups, and one-line errors on bad files."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from shelf import shelf_path
from tony.core.errors import DataError, DataNotInstalledError
from tony.lm.adapters.base import AdapterSpec, PromptFormat
from tony.lm.adapters.multiple_choice import SeparateAdapter
from tony.lm.scenarios.truthfulqa import COLUMNS, DATASET, FILE, TruthfulQAScenario, split_answers
from tony.lm.types import Completion

REPO = Path(__file__).resolve().parents[2]

# Counted by hand from the CSV (the row index is the id's number): (correct, incorrect) after splitting on ";",
# with the trailing ";" of row 296, the repeated answers of rows 132 and 810 and the "Unknown" that row 347
# lists as both correct and incorrect.
HAND_COUNTED = {
    0: (5, 7),  # watermelon seeds: the best answer is the third correct one
    1: (6, 5),  # fortune cookies: the best answer is the last correct one
    132: (2, 2),  # the Taiping Rebellion answer is listed twice
    296: (5, 6),  # Cuddy's power poses: both lists end in ";"
    347: (5, 4),  # "Unknown" is a correct answer, so not a distractor
    810: (6, 3),  # "The population of the country is 1.4 billion" is listed twice
}


@pytest.fixture(scope="module")
def shelf_instances():
    root = shelf_path(FILE).parents[1]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TONY_DATA", str(root))
        yield {variant: TruthfulQAScenario(variant=variant).instances() for variant in ("mc1", "mc2")}


def test_every_row_of_the_real_file_parses(shelf_instances):
    for variant, instances in shelf_instances.items():
        assert len(instances) == 817
        assert len({i.id for i in instances}) == 817 and instances[12].id == "tqa-12"
        for instance in instances:
            outputs = [r.output for r in instance.references]
            assert len(set(outputs)) == len(outputs)  # no option twice
            assert instance.correct_outputs and len(instance.correct_outputs) < len(outputs)
            assert instance.facets == {"category": instance.extra["Category"], "type": instance.extra["Type"]}
            assert instance.input == instance.extra["Question"].strip()  # a few questions end in a space
            if variant == "mc1":
                assert instance.correct_outputs == [instance.extra["Best Answer"]]
            else:
                assert instance.extra["Best Answer"] in instance.correct_outputs
    mc1 = shelf_instances["mc1"]
    assert Counter(i.facets["type"] for i in mc1) == {"Adversarial": 437, "Non-Adversarial": 380}
    assert len({i.facets["category"] for i in mc1}) == 38 and {i.subgroup for i in mc1} == {""}
    first = mc1[0]
    assert first.input == "What happens to you if you eat watermelon seeds?"
    assert first.facets["category"] == "Misconceptions"
    assert first.extra["Source"].startswith("https://wonderopolis.org/") and first.extra["line"] == 2
    assert TruthfulQAScenario().default_method() == "multiple_choice_separate"


@pytest.mark.parametrize("row", sorted(HAND_COUNTED))
def test_reference_counts_match_the_csv(shelf_instances, row):
    correct, incorrect = HAND_COUNTED[row]
    mc1, mc2 = shelf_instances["mc1"][row], shelf_instances["mc2"][row]
    assert (len(mc1.correct_outputs), len(mc1.references)) == (1, 1 + incorrect)
    assert (len(mc2.correct_outputs), len(mc2.references)) == (correct, correct + incorrect)
    # mc1's distractors are mc2's: every incorrect answer, in both.
    assert {r.output for r in mc1.references if not r.is_correct} == {r.output for r in mc2.references
                                                                       if not r.is_correct}


def test_answers_listed_both_ways_stay_true(shelf_instances):
    canada = shelf_instances["mc2"][347]
    assert "Unknown" in canada.correct_outputs
    assert [r.output for r in canada.references].count("Unknown") == 1
    assert "Unknown" not in [r.output for r in shelf_instances["mc1"][347].references]


def test_split_answers():
    assert split_answers("a; b;c ;  ; a; ") == ["a", "b", "c"]
    assert split_answers(" ; ") == []


def test_options_are_shuffled_so_the_best_answer_is_not_always_first(shelf_instances):
    """As LMTask seeds them (run seed, draw, instance id), over the 817 real MC1 questions."""
    adapter = SeparateAdapter(AdapterSpec(), PromptFormat())
    first = 0
    for instance in shelf_instances["mc1"]:
        rng = np.random.default_rng([0, 0, zlib.crc32(instance.id.encode("utf-8"))])
        requests, context = adapter.requests(instance, [], rng)
        assert sorted(context["options"]) == sorted(r.output for r in instance.references)
        assert requests[0].continuations == tuple(f" {o}" for o in context["options"])
        first += context["options"][0] == instance.correct_outputs[0]
    # About 817 / (options per question), not all 817 as in the file's order.
    expected = sum(1 / len(i.references) for i in shelf_instances["mc1"])
    assert abs(first - expected) < 4 * np.sqrt(expected)


def test_mc2_correct_mass_on_a_real_question(shelf_instances):
    """Every true answer scored -1 and every false one -2: the mass is nT e^-1 / (nT e^-1 + nF e^-2)."""
    instance = shelf_instances["mc2"][0]
    adapter = SeparateAdapter(AdapterSpec(), PromptFormat())
    _, context = adapter.requests(instance, [], np.random.default_rng(7))
    scores = tuple(-1.0 if o in instance.correct_outputs else -2.0 for o in context["options"])
    scored = adapter.score(instance, [Completion(continuation_logprobs=scores)], context)
    expected = 5 * np.exp(-1.0) / (5 * np.exp(-1.0) + 7 * np.exp(-2.0))
    assert scored.stats["correct_mass"] == pytest.approx(expected) and scored.stats["accuracy"] == 1.0


def test_dataset_declaration():
    assert DATASET.name == "truthfulqa" and DATASET.files == ("truthfulqa/TruthfulQA.csv",)
    assert DATASET.license == "Apache-2.0" and DATASET.source == "https://github.com/sylinrl/TruthfulQA"


# ---------------------------------------------------------------- bad input

GOOD_ROW = ["Adversarial", "Misconceptions", "Do seeds grow in you?", "No", "No; Never", "Yes; Sometimes", ""]


def write_csv(root: Path, rows: list[list[str]], header: tuple[str, ...] = COLUMNS) -> Path:
    path = root / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([list(header), *rows])
    return path


def one_line_error(root: Path, monkeypatch, *needles: str, error: type[Exception] = DataError) -> str:
    monkeypatch.setenv("TONY_DATA", str(root))
    with pytest.raises(error) as caught:
        TruthfulQAScenario(variant="mc2").instances()
    message = str(caught.value)
    assert "\n" not in message.strip()
    for needle in needles:
        assert needle in message, (needle, message)
    return message


def test_a_small_good_file(tmp_path, monkeypatch):
    write_csv(tmp_path, [GOOD_ROW, ["Non-Adversarial", "Health", "Q2?", "Best", "A; B", "C", "src"]])
    monkeypatch.setenv("TONY_DATA", str(tmp_path))
    mc2 = TruthfulQAScenario(variant="mc2").instances()
    assert [i.id for i in mc2] == ["tqa-0", "tqa-1"]
    assert mc2[1].correct_outputs == ["A", "B", "Best"] and [r.output for r in mc2[1].references][-1] == "C"
    mc1 = TruthfulQAScenario(variant="mc1").instances()
    assert [(r.output, r.is_correct) for r in mc1[0].references] == [("No", True), ("Yes", False),
                                                                      ("Sometimes", False)]
    assert mc1[1].facets == {"category": "Health", "type": "Non-Adversarial"} and mc1[1].extra["line"] == 3


def test_missing_file(tmp_path, monkeypatch):
    one_line_error(tmp_path, monkeypatch, "truthfulqa/TruthfulQA.csv", str(tmp_path), "TONY_DATA",
                   error=DataNotInstalledError)


def test_missing_column(tmp_path, monkeypatch):
    path = write_csv(tmp_path, [GOOD_ROW[:3] + GOOD_ROW[4:]], header=tuple(c for c in COLUMNS if c != "Best Answer"))
    one_line_error(tmp_path, monkeypatch, f"{path}:1:", "'Best Answer'")


def test_unterminated_quote(tmp_path, monkeypatch):
    path = write_csv(tmp_path, [GOOD_ROW, GOOD_ROW])
    text = path.read_text(encoding="utf-8")
    path.write_text(text + 'Adversarial,Law,"Is it legal to cut a file in the mid', encoding="utf-8")
    one_line_error(tmp_path, monkeypatch, f"{path}:4:", "unterminated quote")


def test_row_with_fewer_fields(tmp_path, monkeypatch):
    path = write_csv(tmp_path, [GOOD_ROW, GOOD_ROW[:5]])
    one_line_error(tmp_path, monkeypatch, f"{path}:3:", "5 fields", "fewer")


def test_empty_answer_list(tmp_path, monkeypatch):
    path = write_csv(tmp_path, [GOOD_ROW, GOOD_ROW[:5] + [" ; ;"] + GOOD_ROW[6:]])
    one_line_error(tmp_path, monkeypatch, f"{path}:3:", "'Incorrect Answers' has no answers")


def test_no_distractor_left(tmp_path, monkeypatch):
    path = write_csv(tmp_path, [GOOD_ROW[:5] + ["Never; No"] + GOOD_ROW[6:]])
    one_line_error(tmp_path, monkeypatch, f"{path}:2:", "also listed as correct")


def test_empty_question(tmp_path, monkeypatch):
    path = write_csv(tmp_path, [GOOD_ROW[:2] + [" "] + GOOD_ROW[3:]])
    one_line_error(tmp_path, monkeypatch, f"{path}:2:", "empty 'Question'")


def test_cli_reports_a_truncated_file_in_one_line(tmp_path):
    """`tony run truthfulqa:...` on a truncated CSV: exit 2, one line naming file and line, nothing run."""
    path = write_csv(tmp_path / "data", [GOOD_ROW, GOOD_ROW[:4]])
    store = tmp_path / "store"
    env = {"TONY_DATA": str(tmp_path / "data"), "TONY_PROGRESS": "0"}
    done = tony_cli("run", "truthfulqa:variant=mc1", "--store", str(store), env=env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{path}:3:" in lines[0] and "Traceback" not in done.stderr
    missing = tony_cli("run", "truthfulqa", "--store", str(store), env={**env, "TONY_DATA": str(tmp_path)})
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    assert "truthfulqa/TruthfulQA.csv not found" in missing.stderr


def tony_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`python -m tony.cli ARGS` as tests/e2e/cli_helpers.py runs it."""
    return subprocess.run([sys.executable, "-m", "tony.cli", *args], cwd=REPO, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=300)
