"""The BIG-bench loader, on task files in BIG-bench's format that the tests write (the real task folder is a
user's own: `bigbench/` under the data root or TONY_BIGBENCH_DIR)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tony.core.errors import DataError, DataNotInstalledError
from tony.lm.scenarios.bigbench import BigBenchScenario, benchmark_tasks_dir


def write_task(root: Path, task: str, body: dict, file: str = "task.json") -> None:
    (root / task).mkdir(parents=True, exist_ok=True)
    (root / task / file).write_text(json.dumps(body), encoding="utf-8")


@pytest.fixture
def tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A benchmark_tasks folder at bigbench/ under a data root of its own."""
    monkeypatch.delenv("TONY_BIGBENCH_DIR", raising=False)
    monkeypatch.setenv("TONY_DATA", str(tmp_path))
    root = tmp_path / "bigbench"
    write_task(root, "yesno", {
        "task_prefix": "Answer yes or no.\n", "example_input_prefix": "\nQuestion: ", "example_output_prefix": "\nA: ",
        "examples": [{"input": "Is ice cold?", "target_scores": {"Yes": 1, "No": 0}},
                     {"input": "Is fire cold?", "target_scores": {"Yes": 0, "No": 1}, "comment": "kept"}],
    })
    write_task(root, "sums", {"examples": [{"input": "2+2=", "target": "4"},
                                           {"input": "1+2=", "target": ["3", "three"]}]})
    write_task(root, "mixed", {"name": "mixed"})
    write_task(root / "mixed", "easy", {"examples": [{"input": "a", "target_scores": {"x": 1, "y": 0}}]})
    write_task(root / "mixed", "hard", {"examples": [{"input": "b", "target_scores": {"x": 0, "y": 1}}]})
    write_task(root, "truthful_qa", {"examples": [{"input": "Q?", "target_scores": {"right": 1, "wrong": 0}}]},
               file="task_mc.json")
    return root


def test_the_task_folder_is_found_under_the_data_root(tasks: Path, monkeypatch: pytest.MonkeyPatch):
    assert benchmark_tasks_dir() == tasks
    monkeypatch.setenv("TONY_BIGBENCH_DIR", str(tasks / "mixed"))
    assert benchmark_tasks_dir() == tasks / "mixed"


def test_without_a_task_folder_the_error_says_where_to_put_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TONY_BIGBENCH_DIR", raising=False)
    monkeypatch.setenv("TONY_DATA", str(tmp_path))
    real = importlib.util.find_spec
    # As on a machine without the bigbench package.
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bigbench" else real(name, *a))
    with pytest.raises(DataNotInstalledError, match="bigbench/ under the data root"):
        BigBenchScenario(task="yesno").instances()


def test_multiple_choice_from_target_scores_and_generation_from_target(tasks: Path):
    yesno = BigBenchScenario(task="yesno")
    first, second = yesno.instances()
    assert (first.input, first.correct_outputs, [r.output for r in first.references]) == (
        "Is ice cold?", ["Yes"], ["Yes", "No"])
    assert second.correct_outputs == ["No"] and second.extra == {"comment": "kept"}
    assert yesno.default_method() == "multiple_choice_separate"
    fmt = yesno.prompt_format()
    assert (fmt.instructions, fmt.input_prefix, fmt.output_prefix) == ("Answer yes or no.\n", "Question: ", "\nA:")
    sums = BigBenchScenario(task="sums")
    assert [i.correct_outputs for i in sums.instances()] == [["4"], ["3", "three"]]
    assert sums.default_method() == "generation"


def test_a_task_without_examples_yields_its_subtasks_as_subgroups(tasks: Path):
    instances = BigBenchScenario(task="mixed").instances()
    assert [(i.id, i.subgroup) for i in instances] == [("easy-0", "easy"), ("hard-0", "hard")]
    assert [i.id for i in BigBenchScenario(task="mixed", subtask="hard").instances()] == ["hard-0"]


def test_truthful_qa_reads_its_multiple_choice_file(tasks: Path):
    assert BigBenchScenario(task="truthful_qa").instances()[0].correct_outputs == ["right"]


def test_unknown_task_and_subtask_name_the_problem(tasks: Path):
    with pytest.raises(DataError, match="did you mean 'yesno'"):
        BigBenchScenario(task="yesnoo").instances()
    with pytest.raises(DataError, match="no subtask 'nope'"):
        BigBenchScenario(task="mixed", subtask="nope").instances()


def test_bad_files_are_one_line_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("TONY_BIGBENCH_DIR", str(tmp_path))
    (tmp_path / "latin1").mkdir()
    (tmp_path / "latin1" / "task.json").write_bytes('{"examples": [{"input": "caf\xe9"}]}'.encode("latin-1"))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "task.json").write_text('{"examples": [')
    for task, message in [("latin1", "not UTF-8"), ("broken", "not valid JSON")]:
        with pytest.raises(DataError, match=message) as err:
            BigBenchScenario(task=task).instances()
        assert "\n" not in str(err.value)
