"""Multiple choice over speech: which instances have options to read out, and how they are said."""

from __future__ import annotations

from collections.abc import Sequence

from tony.lm.adapters.multiple_choice import LETTERS
from tony.lm.types import Instance


def is_multiple_choice(instance: Instance) -> bool:
    """Whether the instance's references are options to choose from: two or more, some right and some wrong
    (a generation instance's references are all acceptable answers)."""
    correct = [r.is_correct for r in instance.references]
    return len(correct) >= 2 and any(correct) and not all(correct)


def read_out(question: str, options: Sequence[str]) -> str:
    """The question followed by its lettered options as they are spoken: "Question? A: Paris, B: London."
    (an option's own final full stop dropped, so each letter follows a comma)."""
    said = ", ".join(f"{LETTERS[i]}: {option.strip().rstrip('.')}" for i, option in enumerate(options))
    return f"{question.rstrip()} {said}."
