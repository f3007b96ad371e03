"""GSM8K: grade-school math word problems, answered by a worked solution (Cobbe et al., 2021).

Files (under the data root): `gsm8k/train.jsonl` and `gsm8k/test.jsonl`, one JSON object a line
with `question` and `answer`: a worked solution whose steps carry calculator notes `<<48/2=24>>`
and whose last line is `#### N`, N the final answer.

- Test instances (`test-<row>`, row counted from 0 as in the published files): the question, and
  one correct reference, N as written after `####` with its thousands commas removed ("1,080" -> "1080").
  The original worked solution is kept in `extra["solution"]`.
- Train instances (`train-<row>`, split "train"): the few-shot examples. Their reference is the
  worked solution as a model should write it: calculator notes removed and blank lines dropped
  (4 of the 7,473 have one, and a blank line is where generation stops), ending in `#### N`.

Prompts read "Question: ...\\nAnswer: <solution>" with examples separated by a blank line; the model
stops at a blank line or at "Question:" (the next example it would invent), so a base model stops
right after its `#### N` line. The answer is the last number of the completion (see
`tony.lm.metrics.text.last_number`), compared as a number with the reference (exact match).
"""

from __future__ import annotations

import re
from typing import Any

from tony.core.data import Dataset, data_file, jsonl_rows
from tony.core.errors import DataError
from tony.lm.adapters.base import PromptFormat
from tony.lm.metrics.text import canonical_number
from tony.lm.scenarios.base import Scenario
from tony.lm.types import CORRECT_TAG, Instance, Reference

DATASET = Dataset(
    "gsm8k",
    ("gsm8k/train.jsonl", "gsm8k/test.jsonl"),
    "MIT",
    "https://github.com/openai/grade-school-math",
    "GSM8K grade-school math word problems with worked solutions (7,473 train, 1,319 test)",
)

TRAIN_FILE, TEST_FILE = DATASET.files
STOP = ("\n\n", "Question:")
"""Where generation ends: the blank line after an example's `#### N`, or the start of a next question."""
MAX_TOKENS = 256
"""Generation length: 99% of the train solutions are under ~700 characters (~230 tokens)."""

_NOTE = re.compile(r"<<[^<>]*>>")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
_FINAL = re.compile(r"^#### (.+)$")


class GSM8KScenario(Scenario):
    """GSM8K from gsm8k/{train,test}.jsonl: a worked solution is generated, its last number is the answer."""

    def instances(self) -> list[Instance]:
        return [*_read(TEST_FILE, "test"), *_read(TRAIN_FILE, "train")]

    def default_method(self) -> str:
        return "generation"

    def prompt_format(self) -> PromptFormat:
        return PromptFormat(
            input_prefix="Question: ",
            output_prefix="\nAnswer:",
            example_separator="\n\n",
            stop=STOP,
            max_tokens=MAX_TOKENS,
            answer="last_number",
        )


def strip_notes(solution: str) -> str:
    """A worked solution as shown to a model: without `<<...>>` calculator notes or blank lines."""
    return _BLANK_LINES.sub("\n", _NOTE.sub("", solution))


def final_answer(solution: str) -> str | None:
    """N of the solution's last line `#### N`, commas removed; None when there is no such line with a number."""
    match = _FINAL.match(solution.rstrip().rpartition("\n")[2])
    if match is None:
        return None
    value = match.group(1).strip().replace(",", "")
    return value if canonical_number(value) is not None else None


def _read(relative: str, split: str) -> list[Instance]:
    path = data_file(relative, dataset=DATASET.name)
    instances: list[Instance] = []
    for where, _, row in jsonl_rows(path):
        question, solution = _fields(row, where)
        answer = final_answer(solution)
        if answer is None:
            raise DataError(f"{where}: the answer does not end in a line '#### N' with N a number; "
                            "restore the line from the original GSM8K file")
        index = len(instances)
        if split == "train":
            reference, extra = strip_notes(solution), {}
        else:
            reference, extra = answer, {"solution": solution}
        instances.append(Instance(f"{split}-{index}", question, (Reference(reference, (CORRECT_TAG,)),),
                                  split=split, extra=extra))
    if not instances:
        raise DataError(f"{path}: no rows; put the GSM8K {split} file there (one JSON object a line)")
    return instances


def _fields(row: dict[str, Any], where: str) -> tuple[str, str]:
    """A row's question and worked solution."""
    for key in ("question", "answer"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            raise DataError(f"{where}: '{key}' must be a non-empty string; every GSM8K row has 'question' and 'answer'")
    return row["question"], row["answer"]
