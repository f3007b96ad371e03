"""GSM8K: answer extraction, the worked solutions shown as examples, the real files, prompts and bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shelf import shelf_path
from tony.core.errors import DataError, DataNotInstalledError
from tony.core.registry import registry
from tony.core.store import Store
from tony.lm.adapters.base import AdapterSpec
from tony.lm.adapters.generation import GenerationAdapter
from tony.lm.clients.models import ModelSource
from tony.lm.metrics.text import canonical_number, last_number, numeric_match
from tony.lm.run import LMTask
from tony.lm.scenarios.gsm8k import STOP, GSM8KScenario, final_answer, strip_notes
from tony.lm.suite import build_spec
from tony.lm.types import CORRECT_TAG, Completion, Instance, Reference

# ---------------------------------------------------------------- answer extraction


@pytest.mark.parametrize(("completion", "expected"), [
    (" Natalia sold 48/2 = 24 clips in May.\nShe sold 48+24 = 72 clips.\n#### 72", "72"),
    (" 3 apples and 4 pears make 7.", "7"),                   # several numbers: the last
    (" The total is 1,234 dollars", "1234"),                   # thousands commas
    (" 12,345,678 grains", "12345678"),
    (" She earns $18 a day.", "18"),                           # $ and a sentence's final "."
    (" So she pays $1,080.", "1080"),
    (" The answer is 18.", "18"),
    (" It costs $3.50 each", "3.5"),                           # a decimal, written without trailing zeros
    (" The answer is 18.00", "18"),
    (" He loses 11 - 20 = -9", "-9"),                          # a negative number
    (" He is -$5 down", "-5"),
    (" She has $-6 left", "-6"),
    (" 20-9 = 11", "11"),                                      # a minus that subtracts is no sign
    (" the range 5-3", "3"),
    (" half is .5", "0.5"),
    (" counts 3, 4, 5", "5"),                                  # a list's commas are not thousands commas
    (" 50% of them", "50"),
    (" #### 72\n#### 73", "72"),                               # what follows the final answer line is not read
    (" #### 1,080\nQuestion: A farmer has 3 cows", "1080"),
    (" So 2 + 2 = 4\n#### $4.00", "4"),
    (" I do not know.", None),                                 # no number at all
    ("", None),
])
def test_last_number(completion: str, expected: str | None):
    assert last_number(completion) == expected


def test_numbers_compare_as_numbers():
    assert canonical_number("$1,234.50") == "1234.5" and canonical_number("-0") == "0"
    assert canonical_number("1800") == "1800"  # not 1.8E+3
    assert canonical_number("apples") is None and canonical_number("NaN") is None
    assert numeric_match("18", ["18"]) == 1.0 and numeric_match("18", ["18.00"]) == 1.0
    assert numeric_match("18", ["18.5"]) == 0.0 and numeric_match("18", ["180"]) == 0.0
    assert numeric_match("1080", ["1,080"]) == 1.0
    assert numeric_match("", ["18"]) == 0.0  # no number is never right


def test_the_adapter_scores_the_last_number_and_keeps_the_completion():
    adapter = GenerationAdapter(AdapterSpec(method="generation"), GSM8KScenario().prompt_format())
    instance = Instance("test-0", "How much?", (Reference("18", (CORRECT_TAG,)),))
    text = " She sells 16 - 3 - 4 = 9 eggs.\nShe makes 9 * 2 = $18.00.\n#### 18"
    scored = adapter.score(instance, [Completion(text=text)], {})
    assert (scored.prediction, scored.stats, scored.correct) == ("18", {"exact_match": 1.0}, True)
    assert scored.details == {"completion": text}
    wrong = adapter.score(instance, [Completion(text=" She makes $9 a day.")], {})
    assert (wrong.prediction, wrong.stats, wrong.correct) == ("9", {"exact_match": 0.0}, False)
    silent = adapter.score(instance, [Completion(text=" I cannot say.")], {})
    assert (silent.prediction, silent.stats, silent.correct) == ("", {"exact_match": 0.0}, False)
    assert silent.details == {"completion": " I cannot say."}


# ---------------------------------------------------------------- the real files


def _rows(name: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in shelf_path(f"gsm8k/{name}").read_text(encoding="utf-8").splitlines()]


def test_notes_are_removed_from_every_train_solution():
    rows = _rows("train.jsonl")
    for row in rows:
        shown = strip_notes(row["answer"])
        assert "<<" not in shown and ">>" not in shown
        assert "\n\n" not in shown  # a blank line is where generation stops
        assert shown.splitlines()[-1] == row["answer"].splitlines()[-1]  # the same "#### N"
        assert shown.splitlines()[-1].startswith("#### ")
        # A worked solution's own last number is its answer, as the extraction reads it.
        assert last_number(shown) == canonical_number(final_answer(row["answer"]))
    assert strip_notes(rows[0]["answer"]) == (
        "Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips altogether in April and May.\n#### 72"
    )
    assert strip_notes(rows[2815]["answer"]) == (  # one of the four with a blank line
        "Terry will be 4*10=40 years old in 10 years\nCurrently, Terry is 40-10 = 30 years old.\n#### 30"
    )


def test_loads_the_real_files(shelf_root: Path):
    instances = GSM8KScenario().instances()
    test = [i for i in instances if i.split == "test"]
    train = [i for i in instances if i.split == "train"]
    assert (len(train), len(test)) == (7473, 1319)
    assert [i.id for i in test[:2]] == ["test-0", "test-1"] and train[12].id == "train-12"
    first = test[0]
    assert first.input.startswith("Janet’s ducks lay 16 eggs per day.")
    assert first.references == (Reference("18", (CORRECT_TAG,)),)
    assert first.extra["solution"].endswith("#### 18")
    originals = _rows("test.jsonl")
    for instance, row in zip(test, originals, strict=True):
        written = row["answer"].rpartition("#### ")[2]
        assert instance.correct_outputs == [written.replace(",", "")]
        assert canonical_number(instance.correct_outputs[0]) is not None
    assert any("," in row["answer"].rpartition("#### ")[2] for row in originals)  # commas were there to remove
    assert {i.references[0].output.rpartition("\n")[2] for i in train[:3]} == {"#### 72", "#### 10", "#### 5"}
    assert len({i.id for i in instances}) == len(instances)


# ---------------------------------------------------------------- prompts through a run


class CannedClient:
    """Answers every generation with one fixed worked solution, so that no model is needed."""

    identity = "canned-gsm8k-test"
    text = " She pays 2 * 617 = $1,234.\n#### 1,234"

    def complete(self, requests):
        return [Completion(text=self.text) for _ in requests]

    def close(self) -> None:
        pass


@registry.register("model", "canned-gsm8k-test")
class CannedModel(ModelSource):
    def identity(self) -> str:
        return CannedClient.identity

    def load(self) -> CannedClient:
        return CannedClient()


def test_a_few_shot_prompt_shows_worked_solutions(shelf_root: Path, tmp_path: Path):
    spec = build_spec({"scenario": "gsm8k", "num_train": "3", "max_instances": "2", "model": "canned-gsm8k-test"})
    assert spec.adapter.method == "generation"
    assert spec.adapter.stop == STOP and spec.adapter.max_tokens == 256  # the scenario's, as the entry set none
    store = Store(f"sqlite:///{tmp_path / 'tony.sqlite'}")
    task = LMTask(spec, store)
    records = [payload for _, payload in task.process(task.items())]
    store.close()
    assert len(records) == 2
    train = {i.id: i for i in GSM8KScenario().cached_instances() if i.split == "train"}
    for record in records:
        assert record["instance"]["split"] == "test" and len(record["examples"]) == 3
        (exchange,) = record["exchanges"]
        request = exchange["request"]
        assert tuple(request["stop"]) == STOP and request["max_tokens"] == 256
        prompt = request["prompt"]
        shots = [train[e] for e in record["examples"]]
        expected = "".join(f"Question: {s.input}\nAnswer: {s.correct_outputs[0]}\n\n" for s in shots)
        assert request["shared_prefix"] == expected
        assert prompt == expected + f"Question: {record['instance']['input']}\nAnswer:"
        assert "<<" not in prompt and prompt.count("\n#### ") == 3
        assert re.search(r"\n#### [\d,.-]+\n\nQuestion: ", prompt)  # each solution ends in its answer line
        assert record["prediction"] == "1234"
        assert record["details"] == {"completion": CannedClient.text}
        assert record["correct"] == (record["instance"]["references"][0]["output"] == "1234")
    # The same draw of examples for both instances (a seeded draw per run, as for every scenario).
    assert records[0]["examples"] == records[1]["examples"]


def test_a_run_entry_overrides_the_scenarios_generation_defaults(shelf_root: Path):
    spec = build_spec({"scenario": "gsm8k", "max_tokens": "160", "stop": ["\n"], "model": "canned-gsm8k-test"})
    assert spec.adapter.max_tokens == 160 and spec.adapter.stop == ("\n",)


# ---------------------------------------------------------------- bad input


def _write(root: Path, test_lines: list[str], train_lines: list[str] | None = None) -> None:
    good = json.dumps({"question": "What is 2 + 2?", "answer": "2 + 2 = <<2+2=4>>4\n#### 4"})
    folder = root / "gsm8k"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test.jsonl").write_text("\n".join(test_lines) + "\n", encoding="utf-8")
    (folder / "train.jsonl").write_text("\n".join(train_lines or [good]) + "\n", encoding="utf-8")


def _one_line_error(*needles: str) -> str:
    with pytest.raises(DataError) as caught:
        GSM8KScenario().instances()
    message = str(caught.value)
    assert "\n" not in message and message == message.strip()
    for needle in needles:
        assert needle in message, (needle, message)
    return message


GOOD = json.dumps({"question": "What is 3 + 4?", "answer": "3 + 4 = <<3+4=7>>7\n#### 7"})


@pytest.mark.parametrize(("line", "needles"), [
    ('{"question": "What is 1 + 1?", "answer": ', ("test.jsonl:2:", "invalid JSON")),
    ('["What is 1 + 1?", "#### 2"]', ("test.jsonl:2:", "expected a JSON object", "got list")),
    (json.dumps({"question": "What is 1 + 1?", "answer": "1 + 1 = 2"}), ("test.jsonl:2:", "'#### N'")),
    (json.dumps({"question": "What is 1 + 1?", "answer": "1 + 1 = 2\n#### two"}), ("test.jsonl:2:", "'#### N'")),
    (json.dumps({"question": "What is 1 + 1?"}), ("test.jsonl:2:", "'answer'")),
    (json.dumps({"question": 7, "answer": "#### 7"}), ("test.jsonl:2:", "'question'")),
])
def test_bad_lines_are_one_line_errors_with_file_and_line(tmp_path, monkeypatch, line, needles):
    _write(tmp_path, [GOOD, line])
    monkeypatch.setenv("TONY_DATA", str(tmp_path))
    _one_line_error(*needles)


def test_a_bad_train_line_names_the_train_file(tmp_path, monkeypatch):
    _write(tmp_path, [GOOD], [GOOD, "", "not json"])
    monkeypatch.setenv("TONY_DATA", str(tmp_path))
    _one_line_error("train.jsonl:3:", "invalid JSON")


def test_small_files_load_and_blank_lines_are_skipped(tmp_path, monkeypatch):
    _write(tmp_path, [GOOD, "", json.dumps({"question": "How many?", "answer": "So 1,000 + 80.\n#### 1,080"})])
    monkeypatch.setenv("TONY_DATA", str(tmp_path))
    test = [i for i in GSM8KScenario().instances() if i.split == "test"]
    assert [(i.id, i.correct_outputs) for i in test] == [("test-0", ["7"]), ("test-1", ["1080"])]


def test_missing_files_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TONY_DATA", str(tmp_path))
    with pytest.raises(DataNotInstalledError) as caught:
        GSM8KScenario().instances()
    message = str(caught.value)
    assert "\n" not in message and "gsm8k/test.jsonl" in message and "--data" in message


def test_not_utf8_is_a_one_line_error(tmp_path, monkeypatch):
    _write(tmp_path, [GOOD])
    (tmp_path / "gsm8k" / "test.jsonl").write_bytes(GOOD.encode() + b"\n" + b'{"question": "\xff"}\n')
    monkeypatch.setenv("TONY_DATA", str(tmp_path))
    _one_line_error("test.jsonl:2:", "UTF-8")


# ---------------------------------------------------------------- one small real run


@pytest.mark.slow
def test_a_small_run_with_the_embedded_model(shelf_root: Path, tmp_path: Path):
    from stored_run import stored_records

    spec = build_spec({"scenario": "gsm8k", "num_train": "2", "max_instances": "2", "max_tokens": "64"})
    result, records = stored_records(spec, tmp_path)
    assert len(records) == 2
    for record in records:
        completion = record["exchanges"][0]["completion"]["text"]
        assert record["details"] == {"completion": completion}
        assert record["prediction"] == (last_number(completion) or "")
        assert set(record["stats"]) == {"exact_match"}
        assert record["correct"] == bool(record["stats"]["exact_match"])
        assert tuple(record["exchanges"][0]["request"]["stop"]) == STOP
        assert "\n\n" not in completion and "Question:" not in completion  # it stopped where told
    assert any(s.name == "exact_match" and s.n == 2 for s in result.stats)
