"""Contraction ("do not" -> "don't") and expansion ("don't" -> "do not"), from `data/contractions.tsv`.

Both rewrite every occurrence they can (no rate: like HELM's, a deterministic rewrite). Contraction
leaves a pronoun and auxiliary alone at the end of a clause ("I know who he is." keeps "he is",
since "who he's." is not English); negations contract anywhere. Expansion reads 's and 'd before
"been" (and 'd before "better") as "has" and "had", and keeps a negation that opens a question
("don't you know?"). The references are left alone, as for every
robustness perturbation: the answer does not change with the question's spelling.
"""

from __future__ import annotations

import re
from functools import cache
from typing import ClassVar

import numpy as np

from tony.lm.perturbations._words import data_rows, match_case, next_word
from tony.lm.perturbations.base import ROBUSTNESS, Perturbation

DATA_FILE = "contractions.tsv"
APOSTROPHES = "'\u2019"
SUBJECTS = {"i", "you", "he", "she", "it", "we", "they", "there"}
"""A negation followed by one of these is a question ("don't you know?") and stays contracted."""
HAD_OR_HAS_BEFORE = {"been": {"s": "has", "d": "had"}, "better": {"d": "had"}}
"""Contracted auxiliaries read as "has"/"had" when the next word is one of these."""


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("\u2019", "'"))


def _alternation(phrases: list[str]) -> re.Pattern[str]:
    def one(phrase: str) -> str:
        return "[ \t]+".join(re.escape(w).replace("'", f"[{APOSTROPHES}]") for w in phrase.split(" "))

    body = "|".join(one(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<![\w{APOSTROPHES}])(?:{body})(?![\w{APOSTROPHES}])", re.IGNORECASE)


@cache
def expansions() -> tuple[dict[str, str], re.Pattern[str]]:
    """Contraction (lowercased) -> its first-listed expansion, and a pattern finding any contraction."""
    table: dict[str, str] = {}
    for contraction, expansion, *_ in data_rows(DATA_FILE):
        table.setdefault(_key(contraction), expansion)
    return table, _alternation(list(table))


@cache
def contractions() -> tuple[dict[str, str], tuple[re.Pattern[str], re.Pattern[str]]]:
    """Expansion (lowercased) -> contraction, and two patterns: negations first ("would not"), then the
    rest ("you would"), so "you would not" becomes "you wouldn't" rather than "you'd not"."""
    table: dict[str, str] = {}
    for contraction, expansion, *flags in data_rows(DATA_FILE):
        if "expand-only" not in flags:
            table.setdefault(_key(expansion), contraction)
    negations = [e for e, c in table.items() if c.endswith("n't")]
    others = [e for e, c in table.items() if not c.endswith("n't")]
    return table, (_alternation(negations), _alternation(others))


class Contraction(Perturbation):
    """Contract what can be contracted: "do not" -> "don't", "I am" -> "I'm"."""

    name: ClassVar[str] = "contraction"
    family: ClassVar[str] = ROBUSTNESS

    def perturb_text(self, text: str, rng: np.random.Generator) -> str:
        table, (negations, others) = contractions()

        def contract(match: re.Match[str]) -> str:
            found = match.group(0)
            contraction = table[_key(found)]
            if not contraction.endswith("n't") and not next_word(match.string, match.end()):
                return found  # a clause-final auxiliary does not contract
            return match_case(found, contraction)

        return others.sub(contract, negations.sub(contract, text))


class Expansion(Perturbation):
    """Expand every contraction: "don't" -> "do not", "I'm" -> "I am"."""

    name: ClassVar[str] = "expansion"
    family: ClassVar[str] = ROBUSTNESS

    def perturb_text(self, text: str, rng: np.random.Generator) -> str:
        table, pattern = expansions()

        def expand(match: re.Match[str]) -> str:
            found = match.group(0)
            key = _key(found)
            expansion = table[key]
            after = next_word(text, match.end())
            if key.endswith("n't") and after in SUBJECTS:
                return found  # "don't you know?" has no plain expansion
            reading = HAD_OR_HAS_BEFORE.get(after, {}).get(key[-1])
            if reading and key[-2] == "'":
                expansion = f"{expansion.rsplit(' ', 1)[0]} {reading}"
            return match_case(found, expansion)

        return pattern.sub(expand, text)
