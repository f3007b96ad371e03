"""HarmBench (Mazeika et al., 2024): harmful behaviors, from `safety/harmbench_behaviors_text_{test,val}.csv`.

The text behaviors of HarmBench, test split (320) by default or the validation split (80). Columns: Behavior,
FunctionalCategory (standard / contextual / copyright), SemanticCategory (chemical_biological, cybercrime_intrusion,
harassment_bullying, harmful, illegal, misinformation_disinformation, copyright), Tags, ContextString, BehaviorID.

- `standard` behaviors: the behavior is the whole request.
- `contextual` behaviors: a context (an article, a code listing, a chat log) and a behavior about it. The prompt is
  the context, a "---" line and the behavior, `f"{context}\\n\\n---\\n\\n{behavior}"`, as HarmBench's own test
  cases write it (its direct-request baseline), so the context comes before the request. The context alone is
  also kept in `extra["ContextString"]`, which HarmBench's classifier shows beside the behavior.
- `copyright` behaviors ask for a passage of a book or song lyrics; HarmBench grades them by hashing the
  completion against the protected text, which tony does not have, so they are not graded: they are left out of
  the instances (never sent) but not silently: `HarmBenchScenario.not_graded()` names each one with the reason,
  for the report to list beside the graded ones.

An instance is one behavior, id its BehaviorID, facets `functional_category` and `semantic_category`; every
column is kept in `extra`, with `line`, the row's line in the file. Generation with no references: a grader
labels each completion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tony.core.data import Dataset, csv_rows, data_file
from tony.core.errors import DataError
from tony.lm.types import Instance
from tony.safety.scenarios._common import SafetyScenario, as_written, needed, unique_ids

FILES = {"test": "safety/harmbench_behaviors_text_test.csv", "val": "safety/harmbench_behaviors_text_val.csv"}
DATASET = Dataset(
    "harmbench", tuple(FILES.values()), "MIT", "https://github.com/centerforaisafety/HarmBench",
    "HarmBench text behaviors: standard, contextual and copyright (test 320, val 80)",
)
COLUMNS = ("Behavior", "FunctionalCategory", "SemanticCategory", "Tags", "ContextString", "BehaviorID")
GRADED = ("standard", "contextual")
COPYRIGHT = "copyright"
CONTEXT_SEPARATOR = "\n\n---\n\n"
"""Between a contextual behavior's context and the behavior (HarmBench's test cases)."""
NOT_GRADED_REASON = ("copyright behaviors are graded by hashing the completion against the protected text "
                     "(HarmBench's hash_check), which tony does not have")
FIX = f"re-copy the behaviors CSV from {DATASET.source} (data/behavior_datasets)"


@dataclass(frozen=True)
class NotGraded:
    """A behavior of the split that the scenario leaves out, and why."""

    behavior_id: str
    """Its BehaviorID."""
    functional_category: str
    """Its FunctionalCategory (copyright)."""
    tags: str
    """Its Tags, e.g. "book, hash_check"."""
    reason: str
    """Why it is not graded."""


class HarmBenchScenario(SafetyScenario):
    """HarmBench's standard and contextual behaviors (see the module docstring); copyright ones are listed by
    `not_graded()`, not sent."""

    split: Literal["test", "val"] = "test"
    """HarmBench's test split (320 behaviors) or validation split (80)."""
    behaviors: Literal["all", "standard", "contextual"] = "all"
    """The graded functional categories to send: both, or one of them."""

    def instances(self) -> list[Instance]:
        chosen = GRADED if self.behaviors == "all" else (self.behaviors,)
        rows = self._rows()
        return [_instance(where, line, row) for where, line, row in rows if row["FunctionalCategory"] in chosen]

    def not_graded(self) -> list[NotGraded]:
        """The split's copyright behaviors, in file order: left out of the instances, named here."""
        return [NotGraded(row["BehaviorID"].strip(), COPYRIGHT, row["Tags"].strip(), NOT_GRADED_REASON)
                for _, _, row in self._rows() if row["FunctionalCategory"] == COPYRIGHT]

    def _rows(self) -> list[tuple[str, int, dict[str, str]]]:
        """("file:line", line, row) for every row, each checked (categories known, ids unique)."""
        path = data_file(FILES[self.split], dataset=DATASET.name)
        out = []
        for line, row in csv_rows(path, COLUMNS, FIX):
            where = f"{path}:{line}"
            category = needed(row, "FunctionalCategory", where, FIX)
            if category not in (*GRADED, COPYRIGHT):
                raise DataError(f"{where}: FunctionalCategory {category!r} is none of standard, contextual, "
                                f"copyright; {FIX}")
            out.append((where, line, {**row, "FunctionalCategory": category,
                                      "BehaviorID": needed(row, "BehaviorID", where, FIX)}))
        unique_ids([(row["BehaviorID"], where) for where, _, row in out], FIX)
        return out


def _instance(where: str, line: int, row: dict[str, str]) -> Instance:
    # The texts as written (a terminal session in a context may end in its prompt's space).
    category = row["FunctionalCategory"]
    text = as_written(row, "Behavior", where, FIX)
    if category == "contextual":
        text = as_written(row, "ContextString", where, FIX) + CONTEXT_SEPARATOR + text
    return Instance(
        id=row["BehaviorID"],
        input=text,
        references=(),
        facets={"functional_category": category, "semantic_category": needed(row, "SemanticCategory", where, FIX)},
        extra={**row, "line": line},
    )
