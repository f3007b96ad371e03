"""OpenBookQA (Mihaylov et al., 2018): elementary science questions with four options, from
`openbookqa/test.jsonl` under the data root.

One JSON object per line: `id`, `question` {`stem`, `choices`: [{`text`, `label`}]}, `answerKey`
(the label of the right choice). The options are the choices in label order (A-D), the answerKey's
tagged correct; `method=multiple_choice_joint` shows them lettered, `multiple_choice_separate`
(the default) scores each as a continuation. Instance ids are the file's ids; any other key of a
line (e.g. the "additional" release's `fact1`) is kept in `extra`, with the line number and answerKey.
"""

from __future__ import annotations

from typing import Any

from tony.core.data import Dataset, data_file, jsonl_rows
from tony.core.errors import DataError
from tony.lm.scenarios.base import Scenario
from tony.lm.types import CORRECT_TAG, Instance, Reference

FILE = "openbookqa/test.jsonl"
DATASET = Dataset(
    "openbookqa",
    (FILE,),
    license="Apache-2.0",
    source="https://allenai.org/data/open-book-qa",
    description="500 elementary-science test questions with four options (OpenBookQA, Mihaylov et al. 2018)",
)
FIX = "each line needs {\"id\", \"question\": {\"stem\", \"choices\": [{\"text\", \"label\"}]}, \"answerKey\"}"


class OpenBookQAScenario(Scenario):
    """OpenBookQA's test questions from the data root (see the module docstring)."""

    def instances(self) -> list[Instance]:
        path = data_file(FILE, dataset=DATASET.name)
        found: list[Instance] = []
        first_line: dict[str, int] = {}
        for where, number, row in jsonl_rows(path):
            instance = parse_row(row, where, number)
            if instance.id in first_line:
                raise DataError(f"{path}:{number}: duplicate id '{instance.id}' (first on line "
                                f"{first_line[instance.id]}); give every question a unique id")
            first_line[instance.id] = number
            found.append(instance)
        if not found:
            raise DataError(f"{path}: no questions; {FIX}")
        return found

    def default_method(self) -> str:
        return "multiple_choice_separate"


def parse_row(row: dict[str, Any], where: str, number: int) -> Instance:
    """One line's instance; DataError "file:line: ..." when it does not have OpenBookQA's shape."""
    missing = [key for key in ("id", "question", "answerKey") if key not in row]
    if missing:
        raise DataError(f"{where}: missing {', '.join(repr(k) for k in missing)}; {FIX}")
    question, key, raw_id = row["question"], row["answerKey"], row["id"]
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        raise DataError(f"{where}: 'id' must be a string or an integer, got {type(raw_id).__name__}")
    if not isinstance(question, dict) or not isinstance(question.get("stem"), str) or "choices" not in question:
        raise DataError(f"{where}: 'question' must be an object with a 'stem' string and 'choices'; {FIX}")
    choices = _choices(question["choices"], where)
    labels = [label for label, _ in choices]
    if key not in labels:
        raise DataError(f"{where}: answerKey {_short(key)} is not one of the labels {labels}; fix the answerKey")
    references = tuple(Reference(text, (CORRECT_TAG,) if label == key else ()) for label, text in choices)
    extra = {k: v for k, v in row.items() if k not in ("id", "question")}
    return Instance(id=str(raw_id), input=question["stem"].strip(), references=references,
                    extra={**extra, "labels": labels, "line": number})


def _choices(value: Any, where: str) -> list[tuple[str, str]]:
    """(label, text) of every choice, sorted by label."""
    if not isinstance(value, list) or len(value) < 2:
        raise DataError(f"{where}: 'question.choices' must be a list of at least two choices; {FIX}")
    choices = []
    for choice in value:
        if not (isinstance(choice, dict) and isinstance(choice.get("text"), str)
                and isinstance(choice.get("label"), str) and choice["text"].strip()):
            raise DataError(f"{where}: each choice needs a non-empty 'text' and a 'label' string, got "
                            f"{_short(choice)}")
        choices.append((choice["label"], choice["text"].strip()))
    labels = [label for label, _ in choices]
    if len(set(labels)) != len(labels):
        raise DataError(f"{where}: repeated choice labels {labels}; give each choice its own label")
    texts = [text for _, text in choices]
    if len(set(texts)) != len(texts):
        raise DataError(f"{where}: two choices have the same text; the options must differ")
    return sorted(choices)


def _short(value: Any, limit: int = 60) -> str:
    """A value's repr, cut to fit in a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
