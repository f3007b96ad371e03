"""Instances from a JSONL file: one JSON object per line.

Schema (also in docs/jsonl-schema.md):

- `input` (string, required): the question or context shown to the model.
- `id` (string or integer, optional): unique within the file; default: the line number.
- `split` (optional): "test" (default) or "train" (train lines are only few-shot examples).
- `subgroup` (string, optional): a category for per-group stats.
- the answers, given in exactly ONE of these forms:
  - `references`: `[{"output": "...", "tags": ["correct"]}, ...]`; a reference tagged
    "correct" is a right answer, one without the tag a distractor (at least one must be correct);
  - `target`: a string or a list of strings, acceptable generations (generation);
  - `choices`: a list of strings, with `answer`: the index (from 0) of the right choice,
    or a list of indices (multiple choice);
  - `target_scores`: BIG-bench style `{"option": score}`; options scoring 1 are correct.
- any other key is kept in `Instance.extra`.

Blank lines are skipped. The file must be UTF-8. `choices`, `target_scores` and
`references` with a distractor make the file multiple choice
(`default_method()` = "multiple_choice_separate"); otherwise it is generation.
A file may not mix `choices`/`target_scores` lines with `target` lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tony.core.data import jsonl_rows
from tony.core.errors import DataError
from tony.lm.scenarios.base import Scenario
from tony.lm.types import CORRECT_TAG, Instance, Reference

ANSWER_KEYS = ("references", "target", "choices", "target_scores")
KNOWN_KEYS = {"id", "input", "split", "subgroup", "answer", *ANSWER_KEYS}
SPLITS = ("train", "test")


class JsonlScenario(Scenario):
    """Instances from a JSONL file (see the module docstring for the schema)."""

    path: str
    """The JSONL file."""
    name: str | None = None
    """A display name; default: the file's stem."""
    method: str | None = None
    """The adapter to use; default: chosen from the answers' form."""

    @property
    def display_name(self) -> str:
        return self.name or Path(self.path).stem

    def instances(self) -> list[Instance]:
        return [instance for instance, _ in self._parse()]

    def default_method(self) -> str:
        if self.method:
            return self.method
        is_choice = any(multiple_choice for _, multiple_choice in self._parse())
        return "multiple_choice_separate" if is_choice else "generation"

    def _parse(self) -> list[tuple[Instance, bool]]:
        """Every instance with whether it is multiple choice, in file order."""
        path = Path(self.path)
        if not path.is_file():
            raise DataError(f"{path}: no such file; pass path= an existing JSONL file")
        parsed: list[tuple[Instance, bool]] = []
        first_line: dict[str, int] = {}
        kinds: dict[str, int] = {}
        for where, number, row in jsonl_rows(path):
            instance, kind, multiple_choice = _parse_row(row, number, where)
            if instance.id in first_line:
                raise DataError(
                    f"{where}: duplicate id '{instance.id}' (first on line {first_line[instance.id]}); "
                    "give every line a unique id"
                )
            first_line[instance.id] = number
            kinds.setdefault(kind, number)
            if "target" in kinds and ("choices" in kinds or "target_scores" in kinds):
                raise DataError(
                    f"{where}: the file mixes 'target' (generation) lines with 'choices'/'target_scores' "
                    "(multiple choice) lines; use one form per file"
                )
            parsed.append((instance, multiple_choice))
        if not parsed:
            raise DataError(f"{self.path}: the file has no instances; write one JSON object per line")
        return parsed


def _parse_row(row: dict[str, Any], number: int, where: str) -> tuple[Instance, str, bool]:
    """One line's instance, which answer form it uses, and whether it is multiple choice."""
    if "input" not in row:
        raise DataError(f"{where}: missing 'input'; every line needs an \"input\" string")
    if not isinstance(row["input"], str):
        raise DataError(f"{where}: 'input' must be a string, got {type(row['input']).__name__}")

    raw_id = row.get("id", number)
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        raise DataError(f"{where}: 'id' must be a string or an integer, got {type(raw_id).__name__}")
    split = row.get("split", "test")
    if split not in SPLITS:
        raise DataError(f'{where}: \'split\' is {_short(split)}; use "train" or "test"')
    subgroup = row.get("subgroup", "")
    if not isinstance(subgroup, str):
        raise DataError(f"{where}: 'subgroup' must be a string, got {type(subgroup).__name__}")

    given = [key for key in ANSWER_KEYS if key in row]
    if not given:
        raise DataError(
            f"{where}: no answers; give one of 'references', 'target', 'choices' with 'answer', or 'target_scores'"
        )
    if len(given) > 1:
        raise DataError(f"{where}: answers given as both {given[0]!r} and {given[1]!r}; keep only one form")
    kind = given[0]
    references = _REFERENCE_PARSERS[kind](row, where)
    multiple_choice = kind in ("choices", "target_scores") or (
        kind == "references" and any(not r.is_correct for r in references)
    )
    instance = Instance(
        id=str(raw_id),
        input=row["input"],
        references=references,
        split=split,
        subgroup=subgroup,
        extra={k: v for k, v in row.items() if k not in KNOWN_KEYS},
    )
    return instance, kind, multiple_choice


def _short(value: Any, limit: int = 60) -> str:
    """A value's repr, cut to fit in a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _from_references(row: dict[str, Any], where: str) -> tuple[Reference, ...]:
    items = row["references"]
    if not isinstance(items, list) or not items:
        raise DataError(f'{where}: \'references\' must be a non-empty list of {{"output": ..., "tags": [...]}}')
    references = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("output"), str):
            raise DataError(f'{where}: each reference needs an "output" string, got {_short(item)}')
        tags = item.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise DataError(f"{where}: a reference's 'tags' must be a list of strings, got {_short(tags)}")
        references.append(Reference(item["output"], tuple(tags)))
    if not any(r.is_correct for r in references):
        raise DataError(f'{where}: no reference is tagged "{CORRECT_TAG}"; tag the right answer(s)')
    return tuple(references)


def _from_target(row: dict[str, Any], where: str) -> tuple[Reference, ...]:
    target = row["target"]
    targets = [target] if isinstance(target, str) else target
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        raise DataError(f"{where}: 'target' must be a string or a non-empty list of strings, got {_short(target)}")
    return tuple(Reference(t, (CORRECT_TAG,)) for t in targets)


def _from_choices(row: dict[str, Any], where: str) -> tuple[Reference, ...]:
    choices = row["choices"]
    if not isinstance(choices, list) or not choices or not all(isinstance(c, str) for c in choices):
        raise DataError(f"{where}: 'choices' must be a non-empty list of strings, got {_short(choices)}")
    if "answer" not in row:
        raise DataError(f"{where}: 'choices' without 'answer'; add \"answer\": the index (from 0) of the right choice")
    answer = row["answer"]
    answers = answer if isinstance(answer, list) else [answer]
    valid = answers and all(isinstance(a, int) and not isinstance(a, bool) and 0 <= a < len(choices) for a in answers)
    if not valid:
        raise DataError(
            f"{where}: 'answer' is {_short(answer)}; give an index from 0 to {len(choices) - 1} (or a list of them)"
        )
    return tuple(Reference(c, (CORRECT_TAG,) if i in answers else ()) for i, c in enumerate(choices))


def _from_target_scores(row: dict[str, Any], where: str) -> tuple[Reference, ...]:
    scores = row["target_scores"]
    valid = (
        isinstance(scores, dict)
        and scores
        and all(isinstance(s, int | float) and not isinstance(s, bool) for s in scores.values())
    )
    if not valid:
        raise DataError(
            f"{where}: 'target_scores' must be a non-empty {{\"option\": score}} object, got {_short(scores)}"
        )
    if not any(s == 1 for s in scores.values()):
        raise DataError(f"{where}: no option in 'target_scores' scores 1; give the right option(s) score 1")
    return tuple(Reference(option, (CORRECT_TAG,) if s == 1 else ()) for option, s in scores.items())


_REFERENCE_PARSERS = {
    "references": _from_references,
    "target": _from_target,
    "choices": _from_choices,
    "target_scores": _from_target_scores,
}
