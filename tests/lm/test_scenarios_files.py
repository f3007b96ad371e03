"""The file-backed scenarios: JSONL and Hugging Face datasets from local files (never the hub)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tony.core.errors import DataError
from tony.lm.scenarios.huggingface import HuggingFaceScenario
from tony.lm.scenarios.jsonl import JsonlScenario
from tony.lm.types import CORRECT_TAG, Reference


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def assert_one_line_error(scenario, *needles: str) -> str:
    with pytest.raises(DataError) as caught:
        scenario.instances()
    message = str(caught.value)
    assert "\n" not in message and message.strip() == message
    for needle in needles:
        assert needle in message, (needle, message)
    return message


# ---------------------------------------------------------------- JSONL


def test_jsonl_generation_forms_and_defaults(tmp_path):
    path = write_jsonl(
        tmp_path / "gen.jsonl",
        [
            {"id": "q1", "input": "Capital of France?", "target": "Paris", "note": "kept"},
            "",
            {"input": "2 + 2 =", "target": ["4", "four"], "subgroup": "arithmetic"},
            {"id": 7, "input": "Capital of Italy?", "target": "Rome", "split": "train"},
            {"input": "Largest planet?", "references": [{"output": "Jupiter", "tags": ["correct"]}]},
        ],
    )
    scenario = JsonlScenario(path=str(path))
    instances = scenario.instances()
    assert [i.id for i in instances] == ["q1", "3", "7", "5"]  # default id: the line number
    assert instances[0].references == (Reference("Paris", (CORRECT_TAG,)),)
    assert instances[0].extra == {"note": "kept"} and instances[0].split == "test"
    assert instances[1].correct_outputs == ["4", "four"] and instances[1].subgroup == "arithmetic"
    assert instances[2].split == "train"
    assert instances[3].correct_outputs == ["Jupiter"]
    assert scenario.default_method() == "generation"
    assert JsonlScenario(path=str(path), method="multiple_choice_joint").default_method() == "multiple_choice_joint"
    assert scenario.display_name == "gen" and JsonlScenario(path=str(path), name="x").display_name == "x"


def test_jsonl_multiple_choice_forms(tmp_path):
    path = write_jsonl(
        tmp_path / "mc.jsonl",
        [
            {"input": "Which is a fruit?", "choices": ["kale", "pear"], "answer": 1},
            {"input": "Which are even?", "choices": ["1", "2", "4"], "answer": [1, 2]},
            {"input": "Sky colour?", "target_scores": {"blue": 1, "green": 0, "teal": 0.5}},
            {"input": "Planet?", "references": [{"output": "Mars", "tags": ["correct"]}, {"output": "Moon"}]},
        ],
    )
    scenario = JsonlScenario(path=str(path))
    first, second, third, fourth = scenario.instances()
    assert first.references == (Reference("kale"), Reference("pear", (CORRECT_TAG,)))
    assert second.correct_outputs == ["2", "4"]
    assert [r.output for r in third.references] == ["blue", "green", "teal"] and third.correct_outputs == ["blue"]
    assert fourth.correct_outputs == ["Mars"] and len(fourth.references) == 2
    assert scenario.default_method() == "multiple_choice_separate"


def test_jsonl_accepts_a_byte_order_mark(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"input": "q", "target": "a"}).encode() + b"\n")
    assert JsonlScenario(path=str(path)).instances()[0].input == "q"


def test_jsonl_missing_file(tmp_path):
    assert_one_line_error(JsonlScenario(path=str(tmp_path / "nope.jsonl")), "nope.jsonl", "no such file", "path=")


def test_jsonl_not_utf8(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"input": "ok", "target": "a"}\n{"input": "caf\xe9", "target": "b"}\n')
    assert_one_line_error(JsonlScenario(path=str(path)), "latin1.jsonl:2", "UTF-8")


def test_jsonl_invalid_json(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"input": "a", "target": "b"}, '{"input": "a", "target": }'])
    assert_one_line_error(JsonlScenario(path=str(path)), "bad.jsonl:2", "invalid JSON")


def test_jsonl_line_not_an_object(tmp_path):
    path = write_jsonl(tmp_path / "list.jsonl", [["input", "x"]])
    assert_one_line_error(JsonlScenario(path=str(path)), "list.jsonl:1", "JSON object")


def test_jsonl_missing_input(tmp_path):
    path = write_jsonl(tmp_path / "noinput.jsonl", [{"input": "a", "target": "b"}, {"question": "a", "target": "b"}])
    assert_one_line_error(JsonlScenario(path=str(path)), "noinput.jsonl:2", "missing 'input'")


def test_jsonl_input_not_a_string(tmp_path):
    path = write_jsonl(tmp_path / "int.jsonl", [{"input": 3, "target": "b"}])
    assert_one_line_error(JsonlScenario(path=str(path)), "int.jsonl:1", "'input' must be a string")


def test_jsonl_no_answers(tmp_path):
    path = write_jsonl(tmp_path / "noanswer.jsonl", [{"input": "a"}])
    assert_one_line_error(JsonlScenario(path=str(path)), "noanswer.jsonl:1", "no answers", "target")


def test_jsonl_two_answer_forms(tmp_path):
    path = write_jsonl(tmp_path / "both.jsonl", [{"input": "a", "target": "b", "choices": ["b"], "answer": 0}])
    assert_one_line_error(JsonlScenario(path=str(path)), "both.jsonl:1", "keep only one")


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ({"input": "a", "choices": ["x", "y"]}, "without 'answer'"),
        ({"input": "a", "choices": ["x", "y"], "answer": 2}, "'answer' is 2"),
        ({"input": "a", "choices": ["x", "y"], "answer": "x"}, "give an index"),
        ({"input": "a", "choices": []}, "'choices' must be"),
        ({"input": "a", "target_scores": {"x": 0, "y": 0.5}}, "scores 1"),
        ({"input": "a", "target_scores": {}}, "'target_scores' must be"),
        ({"input": "a", "references": [{"output": "x"}]}, "tagged"),
        ({"input": "a", "references": [{"text": "x"}]}, '"output" string'),
        ({"input": "a", "target": []}, "'target' must be"),
        ({"input": "a", "target": "b", "split": "dev"}, "'split' is 'dev'"),
        ({"input": "a", "target": "b", "id": [1]}, "'id' must be"),
    ],
)
def test_jsonl_malformed_answers_and_fields(tmp_path, row, needle):
    path = write_jsonl(tmp_path / "bad.jsonl", [row])
    assert_one_line_error(JsonlScenario(path=str(path)), "bad.jsonl:1", needle)


def test_jsonl_duplicate_ids(tmp_path):
    rows = [
        {"id": "a", "input": "x", "target": "y"},
        {"input": "x", "target": "y"},
        {"id": "a", "input": "z", "target": "w"},
    ]
    path = write_jsonl(tmp_path / "dup.jsonl", rows)
    assert_one_line_error(JsonlScenario(path=str(path)), "dup.jsonl:3", "duplicate id 'a'", "line 1")


def test_jsonl_default_id_collides_with_explicit_id(tmp_path):
    path = write_jsonl(tmp_path / "dup.jsonl", [{"id": 2, "input": "x", "target": "y"}, {"input": "x", "target": "y"}])
    assert_one_line_error(JsonlScenario(path=str(path)), "dup.jsonl:2", "duplicate id '2'")


@pytest.mark.parametrize("content", ["", "\n  \n\n"])
def test_jsonl_empty_file(tmp_path, content):
    path = tmp_path / "empty.jsonl"
    path.write_text(content, encoding="utf-8")
    assert_one_line_error(JsonlScenario(path=str(path)), "empty.jsonl", "no instances")


def test_jsonl_mixed_generation_and_choices(tmp_path):
    rows = [{"input": "a", "target": "b"}, {"input": "c", "choices": ["d", "e"], "answer": 0}]
    path = write_jsonl(tmp_path / "mixed.jsonl", rows)
    assert_one_line_error(JsonlScenario(path=str(path)), "mixed.jsonl:2", "mixes")


# ---------------------------------------------------------------- Hugging Face (local files only)


@pytest.fixture
def hf(tmp_path, monkeypatch):
    """The datasets module, with its cache inside the test's folder and the hub switched off."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    return datasets


def test_hf_json_generation(hf, tmp_path):
    path = write_jsonl(
        tmp_path / "qa.jsonl",
        [{"question": "Capital of France?", "answer": "Paris"}, {"question": "2+2?", "answer": "4"}],
    )
    scenario = HuggingFaceScenario(path="json", data_files=str(path), target_field="answer")
    instances = scenario.instances()
    assert [i.id for i in instances] == ["test-0", "test-1"]
    assert instances[0].input == "Capital of France?" and instances[0].correct_outputs == ["Paris"]
    assert all(i.split == "test" for i in instances)
    assert scenario.default_method() == "generation"


def test_hf_json_list_targets_and_train_split(hf, tmp_path):
    test = write_jsonl(tmp_path / "test.jsonl", [{"q": "2+2?", "a": ["4", "four"]}])
    train = write_jsonl(tmp_path / "train.jsonl", [{"q": "1+1?", "a": ["2"]}, {"q": "1+2?", "a": ["3"]}])
    scenario = HuggingFaceScenario(
        path="json", data_files=f"test={test};train={train}", input_field="q", target_field="a", train_split="train"
    )
    instances = scenario.instances()
    assert [(i.id, i.split) for i in instances] == [("test-0", "test"), ("train-0", "train"), ("train-1", "train")]
    assert instances[0].correct_outputs == ["4", "four"]


def test_hf_csv_multiple_choice(hf, tmp_path):
    path = tmp_path / "mc.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["question", "options", "label"])
        writer.writerow(["Which is a fruit?", json.dumps(["kale", "pear"]), 1])
        writer.writerow(["Which is a colour?", json.dumps(["red", "run", "rug"]), "A"])
        writer.writerow(["Which is a number?", json.dumps(["one", "on"]), "one"])
    scenario = HuggingFaceScenario(
        path="csv", data_files=str(path), choices_field="options", answer_field="label", split="validation"
    )
    instances = scenario.instances()
    assert [i.id for i in instances] == ["validation-0", "validation-1", "validation-2"]
    assert instances[0].references == (Reference("kale"), Reference("pear", (CORRECT_TAG,)))
    assert [i.correct_outputs for i in instances] == [["pear"], ["red"], ["one"]]
    assert scenario.default_method() == "multiple_choice_separate"


def test_hf_save_to_disk_dataset_dict(hf, tmp_path):
    rows = {
        "question": ["Which is a fruit?", "Which is green?"],
        "choices": [["kale", "pear"], ["sky", "leaf"]],
        "answer": [1, 1],
    }
    train = {"question": ["Which is red?"], "choices": [["blood", "sky"]], "answer": [0]}
    folder = tmp_path / "saved"
    hf.DatasetDict({"test": hf.Dataset.from_dict(rows), "train": hf.Dataset.from_dict(train)}).save_to_disk(str(folder))
    scenario = HuggingFaceScenario(
        path=str(folder), choices_field="choices", answer_field="answer", train_split="train"
    )
    instances = scenario.instances()
    assert [(i.id, i.split) for i in instances] == [("test-0", "test"), ("test-1", "test"), ("train-0", "train")]
    assert [i.correct_outputs for i in instances] == [["pear"], ["leaf"], ["blood"]]


def test_hf_save_to_disk_single_dataset(hf, tmp_path):
    folder = tmp_path / "single"
    hf.Dataset.from_dict({"question": ["q"], "target": ["a"]}).save_to_disk(str(folder))
    instances = HuggingFaceScenario(path=str(folder), target_field="target").instances()
    assert [(i.id, i.correct_outputs) for i in instances] == [("test-0", ["a"])]


@pytest.fixture
def qa_file(hf, tmp_path) -> Path:
    return write_jsonl(tmp_path / "qa.jsonl", [{"question": "q", "answer": "a", "options": ["a", "b"], "idx": 5}])


@pytest.mark.parametrize(
    ("arguments", "needles"),
    [
        ({}, ["no answers", "target_field="]),
        ({"target_field": "answer", "choices_field": "options", "answer_field": "idx"}, ["not both"]),
        ({"choices_field": "options"}, ["answer_field="]),
        ({"target_field": "missing"}, ["no column 'missing'", "target_field="]),
        ({"target_field": "answer", "input_field": "prompt"}, ["no column 'prompt'", "input_field="]),
        ({"target_field": "answer", "train_split": "train"}, ["no split 'train'", "train_split="]),
        ({"choices_field": "options", "answer_field": "idx"}, ["answer 5 is not an option", "row 0"]),
        ({"target_field": "options", "input_field": "idx"}, ["column 'idx' is not text", "input_field="]),
    ],
)
def test_hf_errors_say_what_to_pass(hf, qa_file, arguments, needles):
    scenario = HuggingFaceScenario(path="json", data_files=str(qa_file), **arguments)
    assert_one_line_error(scenario, *needles)


def test_hf_missing_split(hf, qa_file):
    scenario = HuggingFaceScenario(path="json", data_files=f"test={qa_file}", target_field="answer", split="dev")
    assert_one_line_error(scenario, "no split 'dev'", "['test']", "split=")


def test_hf_missing_data_file(hf, tmp_path):
    scenario = HuggingFaceScenario(path="json", data_files=str(tmp_path / "nope.jsonl"), target_field="answer")
    assert_one_line_error(scenario, "cannot load dataset 'json'", "data_files=")


def test_hf_never_reaches_the_hub(hf, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no local folder of this name
    scenario = HuggingFaceScenario(path="some-org/not-a-local-dataset", target_field="answer")
    assert_one_line_error(scenario, "cannot load dataset 'some-org/not-a-local-dataset'")


def test_hf_csv_choices_that_are_not_lists(hf, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("question,options,label\nq,kale or pear,0\n", encoding="utf-8")
    scenario = HuggingFaceScenario(path="csv", data_files=str(path), choices_field="options", answer_field="label")
    assert_one_line_error(scenario, "row 0", "JSON list")
