"""Synonym: a fraction of the content words replaced by WordNet synonyms.

As in HELM's synonym perturbation (after NL-Augmenter), half of the eligible words by default. A word
is eligible when it is not a function word (`data/stopwords.txt`), WordNet lists it as a lemma
exactly as written, and it is not also an inflected form of another lemma: "dogs" is left alone
rather than turned into a singular synonym, and "said" rather than read as the adjective
("aforesaid"). Without a part-of-speech tagger the word's senses are narrowed instead: its
commonest part of speech, and within it the senses that WordNet's tagged corpus counts at least a
tenth as often as the commonest (`cntlist`; the first sense where none is counted), whose other
lemmas are the synonyms. Multi-word lemmas keep their words ("ice_cream" ->
"ice cream"); proper nouns and the word itself are never offered. The references are left alone.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import ClassVar

import numpy as np
from pydantic import Field

from tony.core import wordnet
from tony.lm.perturbations._words import data_words, match_case, replace_words
from tony.lm.perturbations.base import ROBUSTNESS, Perturbation

STOPWORDS = "stopwords.txt"
SENSE_SHARE = 0.1
"""A sense is used when it is counted at least this share as often as the word's commonest sense."""


@lru_cache(maxsize=65536)
def synonyms(word: str) -> tuple[str, ...]:
    """WordNet synonyms of a lowercase word, sorted; empty when the word is not eligible."""
    if word in data_words(STOPWORDS) or len(word) < 2:
        return ()
    wn = wordnet.load()
    if any(base != word for pos in "nvar" for base in wn._morphy(word, pos)):
        return ()  # also an inflection of another word: its part of speech is a guess
    lemmas = [lemma for lemma in wn.lemmas(word) if lemma.name().lower() == word]
    if not lemmas:
        return ()
    by_pos: dict[str, list] = defaultdict(list)
    for lemma in lemmas:
        by_pos[lemma.synset().pos().replace("s", "a")].append(lemma)
    counts = {pos: sum(lemma.count() for lemma in group) for pos, group in by_pos.items()}
    group = by_pos[max(by_pos, key=lambda pos: (counts[pos], len(by_pos[pos])))]
    top = max(lemma.count() for lemma in group)
    senses = [lemma.synset() for lemma in group if lemma.count() >= max(1, SENSE_SHARE * top)]
    senses = senses or [group[0].synset()]
    found = {
        name.replace("_", " ")
        for synset in senses
        for name in synset.lemma_names()
        if name.lower() != word and name.islower() and not any(ch.isdigit() for ch in name)
    }
    return tuple(sorted(found))


class Synonym(Perturbation):
    """Content words replaced by WordNet synonyms (needs Debian's wordnet-base and nltk)."""

    name: ClassVar[str] = "synonym"
    family: ClassVar[str] = ROBUSTNESS

    rate: float = Field(default=0.5, ge=0.0, le=1.0)
    """The chance that an eligible word (one with synonyms) is replaced."""

    def check_ready(self) -> None:
        wordnet.prepare()

    def perturb_text(self, text: str, rng: np.random.Generator) -> str:
        if self.rate == 0:
            return text

        def replace(word: str, _match: object) -> str | None:
            options = synonyms(word.lower())
            if not options or rng.random() >= self.rate:
                return None
            return match_case(word, options[int(rng.integers(len(options)))])

        return replace_words(text, replace)
