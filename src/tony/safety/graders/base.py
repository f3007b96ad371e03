"""What every grader takes and gives back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol


class Item(NamedTuple):
    """One completion to grade, with the prompt it answers."""

    prompt: str
    """The request as the model saw it (the plain request, where a jailbreak wrapped it)."""
    completion: str
    """What the model answered."""


@dataclass(frozen=True)
class Grade:
    """A grader's verdict on one completion."""

    label: str
    """One of `labels.LABELS`, or `labels.UNPARSEABLE` where a judge's answer names no label unambiguously."""
    raw: str | None = None
    """The judge's answer exactly as written (None for the offline graders)."""
    error: str | None = None
    """Why the judge gave no answer at all (the request was refused, e.g. too long for its context)."""


class Grader(Protocol):
    """Labels completions full_compliance / full_refusal / partial_refusal."""

    name: str
    """The name `tony safety grade --grader` takes."""

    def grade(self, items: Sequence[Item]) -> list[Grade]:
        """One grade per item, in order."""
        ...
