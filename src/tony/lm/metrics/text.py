"""Per-instance text metrics for generation (HELM's definitions)."""

from __future__ import annotations

import re
import string
from collections import Counter
from decimal import Decimal, InvalidOperation

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)

# A number as a model writes one: an optional minus (not one that subtracts, so not right after a digit,
# letter or closing bracket) and "$" in either order, digits with or without thousands commas ("1,234" but
# not the "3, 4" of a list), an optional decimal part (".5" too); a sentence's final "." is not part of it.
_NUMBER = re.compile(
    r"(?:(?<![\w)\]])-\$?|\$-?)?(?:(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|(?<![\d.])\.\d+)"
)
_FINAL_MARK = "####"


def normalize_text(text: str) -> str:
    """Lower-case, drop punctuation and articles, collapse whitespace (as SQuAD and HELM do)."""
    text = text.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, references: list[str]) -> float:
    """1.0 when the prediction (stripped) equals a reference (stripped)."""
    return float(any(prediction.strip() == ref.strip() for ref in references))


def quasi_exact_match(prediction: str, references: list[str]) -> float:
    """1.0 when the prediction equals a reference after normalize_text."""
    guess = normalize_text(prediction)
    return float(any(guess == normalize_text(ref) for ref in references))


def f1_score(prediction: str, references: list[str]) -> float:
    """Best token-overlap F1 between the normalized prediction and a reference."""
    return max((_f1(normalize_text(prediction).split(), normalize_text(r).split()) for r in references), default=0.0)


def _f1(guess: list[str], gold: list[str]) -> float:
    if not guess or not gold:
        return float(guess == gold)
    common = sum((Counter(guess) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(guess), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def canonical_number(text: str) -> str | None:
    """A number's canonical text: "$1,234.50" -> "1234.5", "18.00" -> "18", "-0" -> "0"; None if not a number.

    Commas, "$" and surrounding spaces are dropped, then the value is written without trailing zeros, so
    numbers that are equal compare equal as text (GSM8K's answers are integers; "$18.00" answers "18").
    """
    cleaned = text.strip().replace(",", "").replace("$", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def last_number(completion: str) -> str | None:
    """The answer a completion gives as a number (canonical_number), or None when it has none.

    The last number of the completion; where the completion has a final-answer line "#### N" (the form
    GSM8K's worked solutions end in), only the text up to the end of the first such line is read, since
    what a model writes after its final answer is not its answer.
    """
    mark = completion.find(_FINAL_MARK)
    if mark >= 0:
        end = completion.find("\n", mark)
        completion = completion if end < 0 else completion[:end]
    found = _NUMBER.findall(completion)
    return canonical_number(found[-1]) if found else None


def numeric_match(prediction: str, references: list[str]) -> float:
    """1.0 when `prediction` (a canonical number, "" for none) equals a reference read as a number."""
    return float(bool(prediction) and any(canonical_number(ref) == prediction for ref in references))
