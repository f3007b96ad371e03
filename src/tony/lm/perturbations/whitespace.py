"""Whitespace: extra spaces, tabs and newlines between some of the words.

Only the gaps already between two words grow; the words, their order and the text's start and end
are unchanged, so ``perturbed.split() == text.split()``.
"""

from __future__ import annotations

import re
from typing import ClassVar

import numpy as np
from pydantic import Field

from tony.lm.perturbations.base import ROBUSTNESS, Perturbation

GAP = re.compile(r"(?<=\S)\s+(?=\S)")
"""Whitespace with text on both sides."""


class Whitespace(Perturbation):
    """Extra whitespace characters appended to a fraction of the gaps between words."""

    name: ClassVar[str] = "whitespace"
    family: ClassVar[str] = ROBUSTNESS

    rate: float = Field(default=0.2, ge=0.0, le=1.0)
    """The chance that a gap between two words gets extra whitespace."""
    max_extra: int = Field(default=3, ge=1)
    """At most this many characters are added to one gap (at least one)."""
    characters: str = Field(default="   \t\n", pattern=r"^\s+$")
    """What is added, each drawn uniformly from this string (so a repeated character is likelier)."""

    def perturb_text(self, text: str, rng: np.random.Generator) -> str:
        def widen(match: re.Match[str]) -> str:
            if rng.random() >= self.rate:
                return match.group(0)
            count = int(rng.integers(1, self.max_extra + 1))
            extra = "".join(self.characters[int(i)] for i in rng.integers(len(self.characters), size=count))
            return match.group(0) + extra

        return GAP.sub(widen, text)
