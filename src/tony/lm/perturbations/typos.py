"""Typos: a fraction of the words each get one slip of the fingers.

A chosen word gets one of: a letter replaced by a key next to it on a QWERTY keyboard, a letter
dropped, or two neighbouring letters swapped (a one-letter word can only get the first). As in HELM's
robustness runs, the default touches about one word in ten. References are left alone: the answer
to a question with typos is still the answer.
"""

from __future__ import annotations

from functools import cache
from typing import ClassVar

import numpy as np
from pydantic import Field

from tony.lm.perturbations._words import replace_words
from tony.lm.perturbations.base import ROBUSTNESS, Perturbation

KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
"""QWERTY letter rows. Each row sits about half a key right of the one above, so the keys touching
(row r, column c) are (r, c +/- 1), (r - 1, c) and (r - 1, c + 1), (r + 1, c - 1) and (r + 1, c)."""


@cache
def keyboard_neighbors() -> dict[str, str]:
    """For each lowercase letter, the letters on the keys that touch it."""
    neighbors: dict[str, str] = {}
    for r, row in enumerate(KEYBOARD_ROWS):
        for c, key in enumerate(row):
            around = [(r, c - 1), (r, c + 1), (r - 1, c), (r - 1, c + 1), (r + 1, c - 1), (r + 1, c)]
            neighbors[key] = "".join(
                KEYBOARD_ROWS[i][j] for i, j in around if 0 <= i < len(KEYBOARD_ROWS) and 0 <= j < len(KEYBOARD_ROWS[i])
            )
    return neighbors


def _substitute(word: str, rng: np.random.Generator) -> str:
    positions = [i for i, ch in enumerate(word) if ch.lower() in keyboard_neighbors()]
    if not positions:
        return word
    i = positions[int(rng.integers(len(positions)))]
    options = keyboard_neighbors()[word[i].lower()]
    new = options[int(rng.integers(len(options)))]
    return word[:i] + (new.upper() if word[i].isupper() else new) + word[i + 1 :]


def _drop(word: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(len(word)))
    return word[:i] + word[i + 1 :]


def _swap(word: str, rng: np.random.Generator) -> str:
    pairs = [i for i in range(len(word) - 1) if word[i] != word[i + 1]]
    if not pairs:
        return _substitute(word, rng)
    i = pairs[int(rng.integers(len(pairs)))]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


class Typos(Perturbation):
    """Keyboard slips (adjacent-key substitutions, dropped letters, swapped letters) in some words."""

    name: ClassVar[str] = "typos"
    family: ClassVar[str] = ROBUSTNESS

    rate: float = Field(default=0.1, ge=0.0, le=1.0)
    """The chance that a word gets a typo (each word drawn independently)."""

    def perturb_text(self, text: str, rng: np.random.Generator) -> str:
        def typo(word: str, _match: object) -> str | None:
            if rng.random() >= self.rate:
                return None
            kind = int(rng.integers(3)) if len(word) > 1 else 0
            return (_substitute, _drop, _swap)[kind](word, rng)

        return replace_words(text, typo)
