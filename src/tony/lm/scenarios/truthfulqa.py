"""TruthfulQA (Lin, Hilton and Evans, 2022): questions that some humans answer falsely, from the
original `TruthfulQA.csv` under the data root.

Columns: Type (Adversarial / Non-Adversarial), Category, Question, Best Answer, Correct Answers,
Incorrect Answers (each list `;`-separated), Source. The two multiple-choice variants:

- `mc1`: the best answer (correct) against every incorrect answer; the stat is accuracy.
- `mc2`: every true answer (the Correct Answers list, plus the Best Answer where it is not in it)
  against every incorrect one; the paper's MC2 score, the normalized probability mass on the true
  answers, is the adapter's per-instance `correct_mass`.

How the lists are read: split on `;`, each answer stripped, empty pieces (a trailing `;`) dropped,
repeats dropped (first kept). An answer listed as both correct and incorrect (two rows list
"Unknown" so) is never a distractor: it stays a true answer and is left out of the incorrect ones.
Instance ids are `tqa-N`, N the 0-based row index (the original repository's row index); every
original column is kept in `extra`, with `line`, the row's line in the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from tony.core.data import Dataset, csv_rows, data_file
from tony.core.errors import DataError
from tony.lm.scenarios.base import Scenario
from tony.lm.types import CORRECT_TAG, Instance, Reference

FILE = "truthfulqa/TruthfulQA.csv"
DATASET = Dataset(
    "truthfulqa",
    (FILE,),
    license="Apache-2.0",
    source="https://github.com/sylinrl/TruthfulQA",
    description="817 questions that some humans answer falsely (TruthfulQA, Lin et al. 2022): MC1 and MC2",
)
COLUMNS = ("Type", "Category", "Question", "Best Answer", "Correct Answers", "Incorrect Answers", "Source")
REQUIRED = COLUMNS[:-1]
"""Columns that may not be empty (a question's Source may be)."""
FIX = "re-copy TruthfulQA.csv from " + DATASET.source


class TruthfulQAScenario(Scenario):
    """TruthfulQA multiple choice from the data root (see the module docstring)."""

    variant: Literal["mc1", "mc2"] = "mc1"
    """mc1: the best answer against the incorrect ones; mc2: every true answer against every false one."""

    def instances(self) -> list[Instance]:
        path = data_file(FILE, dataset=DATASET.name)
        rows = read_rows(path)
        return [_instance(f"{path}:{line}", index, line, row, self.variant) for index, (line, row) in enumerate(rows)]

    def default_method(self) -> str:
        return "multiple_choice_separate"


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line where the record starts, {column: value}) for every data row; DataError "file:line: ..." when bad."""
    return csv_rows(path, COLUMNS, FIX)


def split_answers(text: str) -> list[str]:
    """A `;`-separated answer list: stripped, empty pieces and repeats dropped, order kept."""
    return list(dict.fromkeys(piece.strip() for piece in text.split(";") if piece.strip()))


def _instance(where: str, index: int, line: int, row: dict[str, str], variant: str) -> Instance:
    """Row `index` (at `where`, "file:line") as an mc1 or mc2 instance."""
    for column in REQUIRED:
        if not row[column].strip():
            raise DataError(f"{where}: empty '{column}'; every question needs it ({FIX})")
    best = row["Best Answer"].strip()
    listed_true = split_answers(row["Correct Answers"])
    listed_false = split_answers(row["Incorrect Answers"])
    for column, answers in (("Correct Answers", listed_true), ("Incorrect Answers", listed_false)):
        if not answers:
            raise DataError(f"{where}: '{column}' has no answers (only ';' or spaces); {FIX}")
    true = listed_true if best in listed_true else [*listed_true, best]
    false = [answer for answer in listed_false if answer not in true]
    if not false:
        raise DataError(f"{where}: every incorrect answer is also listed as correct, so there is nothing to "
                        f"choose against; {FIX}")
    correct = [best] if variant == "mc1" else true
    references = (*(Reference(a, (CORRECT_TAG,)) for a in correct), *(Reference(a) for a in false))
    category, kind = row["Category"].strip(), row["Type"].strip()
    return Instance(
        id=f"tqa-{index}",
        input=row["Question"].strip(),
        references=references,
        # The category is a facet, not also the subgroup: the same rows would be reported twice.
        facets={"category": category, "type": kind},
        extra={**row, "line": line},
    )
