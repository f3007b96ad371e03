"""Per-instance text metrics for generation (HELM's definitions)."""

from __future__ import annotations

import re
import string
from collections import Counter

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


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
