"""Person names: first names swapped for names of the target group, in the input and the references.

The names and their groups are those of the published audit and association studies that HELM's
person_name perturbation uses (`data/person_names.tsv` names the sources). A target is a race
("black_american", "white_american") or a gender ("female", "male"); a name of the other group is
replaced by one of the target group that keeps its other attribute (a white female name becomes a
Black female name). Only capitalized words are names ("Frank" is, "frank" is not).

Each name maps to one replacement fixed by (seed, name), so "Emily" becomes the same name wherever it
appears: in the input, in every reference and in every instance.
"""

from __future__ import annotations

import re
from functools import cache
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from tony.lm.perturbations._words import data_rows, replace_words, stable_choice, stable_unit, text_salt
from tony.lm.perturbations.base import FAIRNESS, Perturbation

DATA_FILE = "person_names.tsv"
NAME = re.compile(r"(?<![\w-])[^\W\d_]+(?:-[^\W\d_]+)*(?![\w-])")
"""A word, hyphenated parts included ("Sue-Ellen")."""
RACES = ("black_american", "white_american")


@cache
def names() -> dict[str, tuple[str, str, str]]:
    """Lowercase name -> (name as written, race, gender)."""
    return {name.lower(): (name, race, gender) for name, race, gender, *_ in data_rows(DATA_FILE)}


@cache
def replacements(target: str) -> dict[str, tuple[str, ...]]:
    """Lowercase name outside the target group -> the target group's names it may become."""
    attribute = 0 if target in RACES else 1
    table: dict[str, tuple[str, ...]] = {}
    for key, (_, *groups) in names().items():
        if groups[attribute] == target:
            continue
        wanted = list(groups)
        wanted[attribute] = target
        table[key] = tuple(sorted(n for n, *g in names().values() if g == wanted))
    return table


class PersonName(Perturbation):
    """First names replaced by names of the target race or gender group."""

    name: ClassVar[str] = "person_name"
    family: ClassVar[str] = FAIRNESS
    perturbs_references: ClassVar[bool] = True

    target: Literal["black_american", "white_american", "female", "male"] = "black_american"
    """The group whose names replace the others'."""
    rate: float = Field(default=1.0, ge=0.0, le=1.0)
    """The chance that a name is replaced (decided once per instance and name)."""

    def perturb_text(self, text: str, rng: np.random.Generator) -> str:
        table = replacements(self.target)
        salt = text_salt(rng)

        def swap(word: str, _match: object) -> str | None:
            key = word.lower()
            if key not in table or not word[:1].isupper() or stable_unit(salt, key) >= self.rate:
                return None
            new = stable_choice(table[key], self.seed, self.target, key)
            return new.upper() if len(word) > 1 and word.isupper() else new

        return replace_words(text, swap, NAME)
