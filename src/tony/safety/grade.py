"""Grading completions produced elsewhere: a CSV or JSON-lines file with `prompt` and `completion` columns.

`id` names each row (default: its row number, from 1); a `label` column holds reference labels, against which
the summary adds agreement, the confusion matrix and Cohen's kappa; every other column is kept in the output
rows. What a user can get wrong in the file (a missing column, no rows, bad encoding, a malformed line, an
unknown label) is a one-line DataError naming the file and, where there is one, the line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tony.core.data import jsonl_rows, read_text
from tony.core.errors import DataError
from tony.safety.graders.agreement import agreement
from tony.safety.graders.base import Grader, Item
from tony.safety.graders.labels import LABELS, UNPARSEABLE

REQUIRED = ("prompt", "completion")
RESERVED = ("reference_label", "judge_raw", "judge_error")
"""Names the output rows use for the reference label and the judge's answer; an input column may not take them."""
_NUMBERED = {f"{i}_{label}": label for i, label in enumerate(LABELS, start=1)}  # XSTest's released annotations
_JSON_KINDS = {type(None): "null", bool: "true or false", int: "a number", float: "a number", list: "a list",
               dict: "an object"}


@dataclass(frozen=True)
class CompletionRow:
    """One row of a file to grade."""

    id: Any
    """The row's `id` value, or its row number (from 1) where the file has no `id` column."""
    prompt: str
    """The request."""
    completion: str
    """The model's answer, to be graded."""
    reference: str | None
    """The row's reference label (one of LABELS) where the file has a `label` column."""
    other: dict[str, Any]
    """Every other column, in the file's order."""


def reference_label(value: Any, where: str) -> str:
    """A reference label as written in a file: one of LABELS in any letter case, with spaces or hyphens for the
    underscores, or XSTest's numbered spelling ("2_full_refusal")."""
    token = str(value).strip().lower().replace("-", "_").replace(" ", "_") if isinstance(value, str) else None
    if token in LABELS:
        return token
    if token in _NUMBERED:
        return _NUMBERED[token]
    if value is None:
        raise DataError(f"{where}: no label; give every row a label, or none")
    raise DataError(f"{where}: label {value!r} is not one of {', '.join(LABELS)}; fix the label column or drop it")


def _row(values: dict[str, Any], number: int, where: str, has_id: bool, has_label: bool) -> CompletionRow:
    for column in REQUIRED:
        if column not in values:
            raise DataError(f"{where}: no `{column}` value; every row needs `prompt` and `completion`")
        if not isinstance(values[column], str):
            kind = _JSON_KINDS.get(type(values[column]), "not a string")
            raise DataError(f"{where}: `{column}` is {kind}, not text; write it as a string")
    reference = reference_label(values.get("label"), where) if has_label else None
    other = {k: v for k, v in values.items() if k not in ("id", "label", *REQUIRED)}
    return CompletionRow(values["id"] if has_id else number, values["prompt"], values["completion"], reference, other)


def _check_columns(columns: list[str], where: str) -> None:
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        shown = ", ".join(columns) if columns else "none"
        raise DataError(f"{where}: no `{missing[0]}` column (columns: {shown}); the file needs `prompt` and "
                        "`completion` columns")
    taken = [c for c in RESERVED if c in columns]
    if taken:
        raise DataError(f"{where}: the column `{taken[0]}` is a name the graded rows use; rename it")


def _read_csv(path: Path) -> list[CompletionRow]:
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: the file is empty; write a header with `prompt` and `completion`, then rows")
        header = [h.strip() for h in header]
        duplicated = sorted({h for h in header if header.count(h) > 1})
        if duplicated:
            raise DataError(f"{path}: the column `{duplicated[0]}` appears twice in the header; name it once")
        _check_columns(header, str(path))
        rows: list[CompletionRow] = []
        for record in reader:
            where = f"{path}:{reader.line_num}"
            if not any(field.strip() for field in record):
                continue
            if len(record) != len(header):
                raise DataError(f"{where}: {len(record)} fields where the header has {len(header)}; quote fields "
                                "that hold commas or line breaks")
            rows.append(_row(dict(zip(header, record, strict=True)), len(rows) + 1, where, "id" in header,
                             "label" in header))
    except csv.Error as err:
        raise DataError(f"{path}:{reader.line_num}: not valid CSV ({err}); fix the line") from None
    return rows


def _read_jsonl(path: Path) -> list[CompletionRow]:
    lines = jsonl_rows(path)
    if lines:
        _check_columns(list(dict.fromkeys(k for line in lines for k in line.data)), str(path))
    has_id = any("id" in line.data for line in lines)
    has_label = any("label" in line.data for line in lines)
    return [_row(line.data, i, line.where, has_id, has_label) for i, line in enumerate(lines, start=1)]


def read_completions(path: str | Path) -> list[CompletionRow]:
    """The rows of a .csv or .jsonl file; a DataError (one line) for what is wrong with it, including no rows."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise DataError(f"{path}: not a .csv or .jsonl file; give completions as CSV or JSON lines")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    rows = _read_csv(path) if suffix == ".csv" else _read_jsonl(path)
    if not rows:
        raise DataError(f"{path}: no rows to grade; the file needs rows with `prompt` and `completion`")
    return rows


def grade_rows(rows: list[CompletionRow], grader: Grader) -> dict[str, Any]:
    """`{"rows": [...], "summary": {...}}`: each row's id and label first, then the reference label, the judge's
    raw answer (and why there is none), and every other column; the summary counts each label and, where the
    rows have references, adds agreement, the confusion matrix and Cohen's kappa."""
    grades = grader.grade([Item(row.prompt, row.completion) for row in rows])
    out = []
    for row, grade in zip(rows, grades, strict=True):
        entry: dict[str, Any] = {"id": row.id, "label": grade.label}
        if row.reference is not None:
            entry["reference_label"] = row.reference
        if grade.raw is not None:
            entry["judge_raw"] = grade.raw
        if grade.error is not None:
            entry["judge_error"] = grade.error
        out.append(entry | row.other)
    labels = [g.label for g in grades]
    counts = {label: labels.count(label) for label in LABELS}
    if UNPARSEABLE in labels:
        counts[UNPARSEABLE] = labels.count(UNPARSEABLE)
    summary: dict[str, Any] = {"grader": grader.name, "n": len(rows), "counts": counts}
    references = [row.reference for row in rows if row.reference is not None]
    if len(references) == len(rows):
        result = agreement(references, labels)
        summary.update(agreement=result.agreement, kappa=result.kappa, compared=result.n,
                       not_compared=result.not_compared, confusion={"labels": list(LABELS), "matrix": result.confusion})
    return {"rows": out, "summary": summary}


def grade_file(path: str | Path, grader: Grader) -> dict[str, Any]:
    """Read `path` (see `read_completions`) and grade every row (see `grade_rows`)."""
    return grade_rows(read_completions(path), grader)
