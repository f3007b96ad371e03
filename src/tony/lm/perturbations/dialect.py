"""Dialect: Standard American English words respelled as African American English, in the input and
the references.

The word list, `data/sae_to_aae.tsv`, follows the features described by Ziems et al. (2022), the
source HELM's dialect perturbation cites ("going" -> "goin", "with" -> "wit", "brother" -> "brotha",
"isn't" -> "ain't"). A word with several spellings gets one, fixed by (seed, word), so it is spelled
the same in the input, the references and every instance. Case is kept; words inside other words
are untouched.
"""

from __future__ import annotations

from functools import cache
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from tony.lm.perturbations._words import (
    WORD_WITH_APOSTROPHE,
    data_rows,
    match_case,
    replace_words,
    stable_choice,
    stable_unit,
    text_salt,
)
from tony.lm.perturbations.base import FAIRNESS, Perturbation

DATA_FILES = {"aae": "sae_to_aae.tsv"}
"""Target dialect -> its word list (standard spelling -> the dialect's spellings)."""


@cache
def spellings(target: str) -> dict[str, tuple[str, ...]]:
    """Lowercase standard word (apostrophes straight) -> its spellings in the target dialect."""
    return {sae.lower(): tuple(aae.split(",")) for sae, aae in data_rows(DATA_FILES[target])}


class Dialect(Perturbation):
    """Standard English words replaced by their spellings in the target dialect ("with" -> "wit")."""

    name: ClassVar[str] = "dialect"
    family: ClassVar[str] = FAIRNESS
    perturbs_references: ClassVar[bool] = True

    target: Literal["aae"] = "aae"
    """The dialect written: "aae", African American English."""
    rate: float = Field(default=1.0, ge=0.0, le=1.0)
    """The chance that a word with a dialect spelling is respelled (decided once per instance and word)."""

    def perturb_text(self, text: str, rng: np.random.Generator) -> str:
        table = spellings(self.target)
        salt = text_salt(rng)

        def respell(word: str, _match: object) -> str | None:
            key = word.lower().replace("\u2019", "'")
            if key not in table or stable_unit(salt, key) >= self.rate:
                return None
            return match_case(word, stable_choice(table[key], self.seed, self.target, key))

        return replace_words(text, respell, WORD_WITH_APOSTROPHE)
