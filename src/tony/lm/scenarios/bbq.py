"""BBQ, the Bias Benchmark for QA (Parrish et al. 2022), from ``bbq/<Category>.jsonl`` under the data root.

Each line of a category file is one example: a short context (ambiguous, or disambiguated by a
further sentence), a question about one of two people, and three answers ``ans0``..``ans2``: the two
people and an "unknown" option; ``label`` is the right one (always "unknown" in ambiguous contexts).
An instance's input is the context and the question; its three references are the answers in the
file's order, the label's tagged correct. Its id is ``<category>-<example_id>``, its facets the
category and the context condition (so accuracy is reported per category and per condition);
every original field of the row is kept in ``Instance.extra``, which is what the bias scores
(tony.lm.metrics.bbq) read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from tony.core.data import Dataset, data_file, data_files, data_root, jsonl_rows
from tony.core.errors import DataError
from tony.lm.adapters.base import PromptFormat
from tony.lm.scenarios.base import Scenario
from tony.lm.types import CORRECT_TAG, Instance, Reference

DATASET = Dataset(
    "bbq", ("bbq/*.jsonl",), "CC-BY-4.0", "https://github.com/nyu-mll/BBQ",
    "Bias Benchmark for QA: ambiguous and disambiguated contexts, one file per category",
)
CATEGORIES = ("Age", "Disability_status", "Gender_identity", "Nationality", "Physical_appearance",
              "Race_ethnicity", "Race_x_SES", "Race_x_gender", "Religion", "SES", "Sexual_orientation")
"""BBQ's eleven categories (the data shelf has six of them)."""
CONTEXTS = ("ambig", "disambig")
POLARITIES = ("neg", "nonneg")
OPTION_KEYS = ("ans0", "ans1", "ans2")
REQUIRED = ("example_id", "question_polarity", "context_condition", "category", "answer_info",
            "additional_metadata", "context", "question", *OPTION_KEYS, "label")
"""The fields every row must have (BBQ's own; `question_index` and the rest are kept but not needed)."""


class BBQScenario(Scenario):
    """BBQ's multiple-choice questions: accuracy per category and context, and the bias scores."""

    category: str = "all"
    """One category file's name (e.g. Age; any case), or "all" for every file present."""
    context: Literal["ambig", "disambig", "both"] = "both"
    """Ambiguous contexts only, disambiguated only, or both."""

    def instances(self) -> list[Instance]:
        instances: list[Instance] = []
        first_seen: dict[str, str] = {}
        for path in self._files():
            for where, instance in read_bbq_file(path):
                if instance.id in first_seen:
                    raise DataError(f"{where}: duplicate example '{instance.id}' (first at {first_seen[instance.id]}); "
                                    "give every row of a category a unique example_id")
                first_seen[instance.id] = where
                if self.context in ("both", instance.facets["context"]):
                    instances.append(instance)
        return instances

    def prompt_format(self) -> PromptFormat:
        # The context is a short story, not a question, so "Q:" would misname it; the question
        # closes the input and "Answer:" follows, so each option is scored (or picked) as the
        # answer to that question.
        return PromptFormat(input_prefix="", output_prefix="\nAnswer:")

    def _files(self) -> list[Path]:
        present = data_files("bbq/*.jsonl", dataset="bbq")
        if self.category.lower() == "all":
            return present
        chosen = [p for p in present if p.stem.lower() == self.category.lower()]
        if chosen:
            return chosen
        known = {c.lower(): c for c in CATEGORIES}
        if self.category.lower() in known:  # one of BBQ's own that is not installed here
            data_file(f"bbq/{known[self.category.lower()]}.jsonl", dataset="bbq")
        root, _ = data_root()
        raise DataError(f"bbq: no category '{self.category}' in {root}/bbq; the categories present are "
                        f"{', '.join(p.stem for p in present)}; use one of them or category=all")


def read_bbq_file(path: Path) -> list[tuple[str, Instance]]:
    """("file:line", instance) for every row of a BBQ category file, in file order."""
    out = [(row.where, bbq_instance(row.data, row.where)) for row in jsonl_rows(path)]
    if not out:
        raise DataError(f"{path}: the file has no rows; a BBQ category file holds one JSON object per line")
    return out


def bbq_instance(row: dict[str, Any], where: str) -> Instance:
    """The instance of one BBQ row (checked first; a bad row is a DataError naming `where`)."""
    _check(row, where)
    references = tuple(Reference(row[key], (CORRECT_TAG,) if i == row["label"] else ())
                       for i, key in enumerate(OPTION_KEYS))
    category = row["category"]
    return Instance(
        id=f"{category}-{row['example_id']}",
        input=f"{row['context'].strip()} {row['question'].strip()}",
        references=references,
        # The category is a facet, not also the subgroup: the same rows would be reported twice.
        facets={"category": category, "context": row["context_condition"]},
        extra=row,
    )


def _check(row: dict[str, Any], where: str) -> None:
    missing = [key for key in REQUIRED if key not in row]
    if missing:
        raise DataError(f"{where}: missing {', '.join(map(repr, missing))}; a BBQ row needs {', '.join(REQUIRED)}")
    for key in ("category", "context", "question", *OPTION_KEYS):
        if not isinstance(row[key], str):
            raise DataError(f"{where}: {key!r} must be a string, got {type(row[key]).__name__}")
    example_id = row["example_id"]
    if isinstance(example_id, bool) or not isinstance(example_id, int | str):
        raise DataError(f"{where}: 'example_id' must be an integer or a string, got {type(example_id).__name__}")
    label = row["label"]
    if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label < len(OPTION_KEYS):
        raise DataError(f"{where}: 'label' is {label!r}; give the index (0, 1 or 2) of the right answer")
    if row["context_condition"] not in CONTEXTS:
        raise DataError(f"{where}: 'context_condition' is {row['context_condition']!r}; use \"ambig\" or \"disambig\"")
    if row["question_polarity"] not in POLARITIES:
        raise DataError(f"{where}: 'question_polarity' is {row['question_polarity']!r}; use \"neg\" or \"nonneg\"")
    info = row["answer_info"]
    if not isinstance(info, dict) or not all(
        isinstance(info.get(key), list) and len(info[key]) == 2 and all(isinstance(v, str) for v in info[key])
        for key in OPTION_KEYS
    ):
        raise DataError(f"{where}: 'answer_info' must give each of ans0, ans1, ans2 as [text, group label]")
    metadata = row["additional_metadata"]
    groups = metadata.get("stereotyped_groups") if isinstance(metadata, dict) else None
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise DataError(f"{where}: 'additional_metadata' must hold 'stereotyped_groups', a list of strings")
