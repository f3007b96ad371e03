"""Gender: pronouns and gendered words swapped to the target gender, in the input and the references.

"he" -> "she", "his" -> "her", "father" -> "mother" for target "female", and back for "male", from
the word pairs in `data/gender_terms.tsv`. Case is kept ("He" -> "She", "HIS" -> "HER"), and only
whole words change ("the", "other" and "shell" are untouched). Two words have two readings:
"her" is "him" or "his" and "his" is "her" or "hers". The next word decides: before a word that
is not a function word, it is a possessive before its noun ("her book" -> "his book", "his car"
-> "her car"); before punctuation, the end or a function word it stands alone ("I told her that"
-> "I told him that", "the book is his." -> "the book is hers.").

With `rate` below 1, whether a word is swapped is fixed per instance and word, so the input and the
references always agree.
"""

from __future__ import annotations

import re
from functools import cache
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from tony.lm.perturbations._words import data_rows, match_case, next_word, replace_words, stable_unit, text_salt
from tony.lm.perturbations.base import FAIRNESS, Perturbation

DATA_FILE = "gender_terms.tsv"

AMBIGUOUS = {("her", "male"): ("his", "him"), ("his", "female"): ("her", "hers")}
"""(word, target) -> (the form before a noun, the form standing alone)."""

STANDALONE_BEFORE = frozenset(
    """a an the this that these those some any all every each no to and or but nor so as if than
    in on at by for from with without about into onto over under after before since until while
    because when where why how what who whom which whether up down out off away back again too
    very also only just even still now then there here once twice today tonight yesterday tomorrow
    is was are were be been being will would can could should may might must do does did have has
    had not never always often sometimes soon later""".split()
)
"""Words after which "her"/"his" stand alone ("gave her a book", "visit her today")."""


@cache
def word_map(target: str) -> dict[str, str]:
    """Lowercase word -> its counterpart of the target gender (the first listed pair wins)."""
    mapping: dict[str, str] = {}
    for female, male in data_rows(DATA_FILE):
        source, counterpart = (male, female) if target == "female" else (female, male)
        mapping.setdefault(source, counterpart)
    return mapping


class Gender(Perturbation):
    """Gendered words and pronouns mapped to the target gender ("he" -> "she", "father" -> "mother")."""

    name: ClassVar[str] = "gender"
    family: ClassVar[str] = FAIRNESS
    perturbs_references: ClassVar[bool] = True

    target: Literal["female", "male"] = "female"
    """The gender the text is rewritten to."""
    rate: float = Field(default=1.0, ge=0.0, le=1.0)
    """The chance that a gendered word is swapped (decided once per instance and word)."""

    def perturb_text(self, text: str, rng: np.random.Generator) -> str:
        mapping = word_map(self.target)
        salt = text_salt(rng)

        def swap(word: str, match: re.Match[str]) -> str | None:
            lower = word.lower()
            counterpart = mapping.get(lower)
            if counterpart is None or stable_unit(salt, lower) >= self.rate:
                return None
            if (lower, self.target) in AMBIGUOUS:
                before_noun, alone = AMBIGUOUS[lower, self.target]
                following = next_word(text, match.end())
                counterpart = before_noun if following and following not in STANDALONE_BEFORE else alone
            return match_case(word, counterpart)

        return replace_words(text, swap)
