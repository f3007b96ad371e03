"""Per-instance export of language-model runs: one flat row per stored record (`tony records`).

The kernel streams records without knowing their shape; this module reads each payload as the
`tony.lm.record.LMRecord` that `tony.lm.run.LMTask.process` wrote and turns it into a row of
RECORD_FIELDS, plus the JSON-lines and CSV forms of a row.
"""

from __future__ import annotations

from typing import Any

from tony.core.store import StoredRecord, json_text
from tony.lm.record import LMRecord

KIND = "lm"
"""The run kind whose records this module exports (LMTask.kind)."""

RECORD_FIELDS = ("run", "scenario", "model", "method", "instance_id", "draw", "split", "subgroup", "perturbation",
                 "prompt", "prediction", "correct", "error", "stats", "extra")
"""The columns of an exported record, in order."""

RUN_ID_CHARS = 12
"""Run ids are shortened as `tony results` shows them, so exported rows join with its rows."""


def export_row(run: dict[str, Any], record: StoredRecord) -> dict[str, Any]:
    """One record of `run` (a row of Store.runs()) as a flat row of RECORD_FIELDS.

    `prompt` is the first request's prompt exactly as sent (a calibrated multiple-choice record's
    second request is the neutral prompt, not the question). `prediction` is the chosen option's text
    for multiple choice and the completion, as it came back, for generation. `perturbation` is the
    variant's label, None for the original. `error` is why the instance's request could not be answered
    (too long for the context, refused by the server), None for an answered one; such a row has no
    prediction, correct or stats.
    """
    typed = LMRecord.from_json(record.payload)
    instance, perturbation = typed.instance, typed.perturbation
    labels = run.get("labels", {})
    first = typed.exchanges[0] if typed.exchanges else None
    prediction = typed.prediction
    if first is not None and not first.request.is_scoring and typed.answered:
        prediction = "" if first.completion is None else first.completion.text
    return {
        "run": run["run_id"][:RUN_ID_CHARS],
        "scenario": labels.get("scenario", ""),
        "model": labels.get("model", ""),
        "method": labels.get("method", ""),
        "instance_id": instance.id,
        "draw": typed.draw,
        "split": instance.split,
        "subgroup": instance.subgroup,
        "perturbation": None if perturbation is None else perturbation.label or perturbation.name,
        "prompt": "" if first is None else first.request.prompt,
        "prediction": prediction,
        "correct": typed.correct,
        "error": typed.error,
        "stats": typed.stats,
        "extra": instance.extra,
    }


def csv_row(row: dict[str, Any]) -> dict[str, str]:
    """A row for the csv module: stats and extra as JSON text (their keys differ from run to run and
    are not known before the last record is read), None as an empty cell, booleans as true/false.
    Text that is not valid Unicode gets its lone surrogates written as backslash escapes."""
    return {key: _cell(value) for key, value in row.items()}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json_text(value)
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text
