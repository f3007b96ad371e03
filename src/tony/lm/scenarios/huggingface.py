"""A Hugging Face dataset as a scenario, from local files only.

`path` is what `datasets.load_dataset` takes: a packaged builder such as "json",
"csv" or "parquet" with `data_files=`, or a local dataset folder. A folder made
by `save_to_disk` (it holds dataset_info.json, state.json or dataset_dict.json)
is read with `datasets.load_from_disk`. The hub is never reached: HF_HUB_OFFLINE
and HF_DATASETS_OFFLINE are set to 1 before `datasets` is imported (unless the
environment already sets them).

Rows become instances:

- generation: `target_field` holds a string or a list of acceptable strings;
- multiple choice: `choices_field` holds a list of options (in CSV, a JSON list
  such as ["a", "b"]) and `answer_field` the right one: an index from 0, a list of
  indices, the option's text, or a letter ("A" is the first option).

`data_files` is one path or glob (it becomes `split`), or several
"SPLIT=PATH" pairs separated by ";" (e.g. "test=q.jsonl;train=shots.jsonl").
Rows of `train_split`, when given, are few-shot examples.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from tony.core.errors import DataError
from tony.lm.scenarios.base import Scenario
from tony.lm.types import CORRECT_TAG, Instance, Reference

SAVED_MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")
SPLIT_NAME = re.compile(r"\w+")


class HuggingFaceScenario(Scenario):
    """A Hugging Face dataset read from local files (see the module docstring)."""

    path: str
    """`load_dataset`'s path ("json", "csv", a local folder) or a `save_to_disk` folder."""
    name: str | None = None
    """The dataset configuration name, if it has several."""
    split: str = "test"
    """The split to evaluate on."""
    input_field: str = "question"
    """The column shown to the model."""
    target_field: str | None = None
    """Generation: the column with the acceptable output(s)."""
    choices_field: str | None = None
    """Multiple choice: the column with the list of options."""
    answer_field: str | None = None
    """Multiple choice: the column with the right option (index, indices, text or letter)."""
    train_split: str | None = None
    """A split whose rows are few-shot examples."""
    data_files: str | None = None
    """A path or glob (becomes `split`), or "SPLIT=PATH;SPLIT=PATH"."""

    def default_method(self) -> str:
        return "generation" if self.choices_field is None else "multiple_choice_separate"

    def instances(self) -> list[Instance]:
        self._check_fields()
        splits = self._load()
        wanted = [(self.split, "test")] + ([(self.train_split, "train")] if self.train_split else [])
        instances: list[Instance] = []
        for source, role in wanted:
            if source not in splits:
                raise DataError(
                    f"{self.path}: no split '{source}' (it has {sorted(splits)}); "
                    "pass split= or train_split= one of them"
                )
            rows = splits[source]
            self._check_columns(rows.column_names, source)
            instances += [self._instance(row, i, source, role) for i, row in enumerate(rows)]
        if not any(instance.split == "test" for instance in instances):
            raise DataError(f"{self.path}: split '{self.split}' has no rows; pass split= a split with data")
        return instances

    def _check_fields(self) -> None:
        if self.target_field and self.choices_field:
            raise DataError(
                f"{self.path}: pass either target_field= (generation) or choices_field= (multiple choice), not both"
            )
        if not self.target_field and not self.choices_field:
            raise DataError(
                f"{self.path}: no answers; pass target_field=COLUMN (generation) "
                "or choices_field=COLUMN with answer_field=COLUMN (multiple choice)"
            )
        if self.choices_field and not self.answer_field:
            raise DataError(
                f"{self.path}: choices_field={self.choices_field} needs answer_field=COLUMN naming the right option"
            )

    def _check_columns(self, columns: list[str], split: str) -> None:
        fields = {
            "input_field": self.input_field,
            "target_field": self.target_field,
            "choices_field": self.choices_field,
            "answer_field": self.answer_field,
        }
        for argument, column in fields.items():
            if column is not None and column not in columns:
                raise DataError(
                    f"{self.path}: split '{split}' has no column '{column}' (columns: {columns}); "
                    f"pass {argument}= one of them"
                )

    def _load(self) -> dict[str, Any]:
        """The dataset's splits, by name."""
        datasets = _import_datasets()
        folder = Path(self.path)
        try:
            if folder.is_dir() and any((folder / marker).exists() for marker in SAVED_MARKERS):
                loaded = datasets.load_from_disk(str(folder))
            else:
                loaded = datasets.load_dataset(self.path, self.name, data_files=self._data_files())
        except DataError:
            raise
        except Exception as err:  # datasets raises many kinds; all mean "cannot load this"
            raise DataError(
                f"cannot load dataset '{self.path}' from local files ({type(err).__name__}: {_first_line(err)}); "
                "pass path=json or path=csv with data_files=, or a folder made by save_to_disk"
            ) from None
        if isinstance(loaded, datasets.Dataset):
            return {self.split: loaded}
        return dict(loaded)

    def _data_files(self) -> dict[str, str] | None:
        if not self.data_files:
            return None
        pairs = [pair.partition("=") for pair in self.data_files.split(";")]
        if not all(sep and SPLIT_NAME.fullmatch(split.strip()) and file.strip() for split, sep, file in pairs):
            return {self.split: self.data_files}  # one path or glob (which may itself contain "=")
        return {split.strip(): file.strip() for split, _, file in pairs}

    def _instance(self, row: dict[str, Any], index: int, source: str, role: str) -> Instance:
        where = f"{self.path}: split '{source}' row {index}"
        text = row[self.input_field]
        if not isinstance(text, str):
            raise DataError(f"{where}: column '{self.input_field}' is not text; pass input_field= a text column")
        if self.choices_field and self.answer_field:
            references = _choice_references(row[self.choices_field], row[self.answer_field], where)
        elif self.target_field:
            references = _target_references(row[self.target_field], where, self.target_field)
        else:
            raise AssertionError("unreachable: _check_fields requires target_field or choices_field and answer_field")
        return Instance(id=f"{source}-{index}", input=text, references=references, split=role)


def _import_datasets() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    try:
        import datasets
    except ImportError:
        raise DataError("the hf scenario needs the 'datasets' package; pip install 'tony[hf]'") from None
    return datasets


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    text = lines[0] if lines else ""
    return text if len(text) <= 200 else text[:197] + "..."


def _target_references(value: Any, where: str, column: str) -> tuple[Reference, ...]:
    targets = value if isinstance(value, list) else [value]
    if not targets or any(t is None or isinstance(t, dict | list) for t in targets):
        raise DataError(f"{where}: column '{column}' must hold a string or a list of strings; pass target_field=")
    return tuple(Reference(str(t), (CORRECT_TAG,)) for t in targets)


def _choice_references(choices: Any, answer: Any, where: str) -> tuple[Reference, ...]:
    if isinstance(choices, str):
        try:
            choices = json.loads(choices)
        except json.JSONDecodeError:
            choices = None
    if not isinstance(choices, list) or not choices or any(isinstance(c, dict | list) for c in choices):
        raise DataError(
            f'{where}: the choices column must hold a list of options (in CSV, a JSON list like ["a", "b"])'
        )
    options = [str(c) for c in choices]
    correct = {_answer_index(a, options, where) for a in (answer if isinstance(answer, list) else [answer])}
    return tuple(Reference(o, (CORRECT_TAG,) if i in correct else ()) for i, o in enumerate(options))


def _answer_index(answer: Any, options: list[str], where: str) -> int:
    """An answer as an option index: an index, a numeric string, the option's text, or a letter."""
    index: int | None = None
    if isinstance(answer, int) and not isinstance(answer, bool):
        index = answer
    elif isinstance(answer, str):
        text = answer.strip()
        if text in options:
            index = options.index(text)
        elif text.isdigit():
            index = int(text)
        elif len(text) == 1 and text.isalpha():
            index = ord(text.upper()) - ord("A")
    if index is None or not 0 <= index < len(options):
        shown = repr(answer)[:60]
        raise DataError(
            f"{where}: answer {shown} is not an option; the answer column must hold an index from 0 to "
            f"{len(options) - 1}, an option's text or a letter"
        )
    return index
