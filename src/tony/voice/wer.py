"""Word error rate through jiwer: (substitutions + deletions + insertions) / reference words, after both texts
are normalized the same way (lower case, contractions expanded, hyphens as spaces, punctuation dropped).

Over several utterances the rate is the corpus rate (all errors over all reference words, as jiwer and the
speech literature count it), its interval a bootstrap over utterances of that ratio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tony.core.stats import Stat, bootstrap


def _transform():
    import jiwer

    return jiwer.Compose([
        jiwer.ToLowerCase(),
        jiwer.ExpandCommonEnglishContractions(),
        jiwer.SubstituteRegexes({r"[-\u2010-\u2015]": " "}),
        jiwer.RemovePunctuation(),
        jiwer.RemoveMultipleSpaces(),
        jiwer.Strip(),
    ])


def normalize(text: str) -> str:
    """The text as WER compares it."""
    return str(_transform()(text))


@dataclass(frozen=True)
class WordErrors:
    """One utterance's errors against its reference."""

    errors: int
    """Substitutions + deletions + insertions."""
    words: int
    """Words in the (normalized) reference."""

    @property
    def rate(self) -> float:
        return self.errors / self.words if self.words else math.nan


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    """The errors of `hypothesis` against `reference` (jiwer's alignment of the normalized words)."""
    import jiwer

    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        return WordErrors(len(hyp.split()), 0)
    if not hyp:
        return WordErrors(len(ref.split()), len(ref.split()))
    out = jiwer.process_words(ref, hyp)
    return WordErrors(out.substitutions + out.deletions + out.insertions, len(ref.split()))


def wer_stat(name: str, utterances: Sequence[WordErrors], *, seed: int = 0, subgroup: str = "") -> Stat:
    """The corpus word error rate of `utterances` with its bootstrap interval (resampling utterances)."""
    rows = np.array([(u.errors, u.words) for u in utterances], dtype=float).reshape(-1, 2)
    if not len(rows) or rows[:, 1].sum() == 0:
        return Stat(name, math.nan, math.nan, math.nan, len(rows), subgroup=subgroup)
    interval = bootstrap(rows, lambda s: s[..., 0].sum(axis=1) / np.maximum(s[..., 1].sum(axis=1), 1), seed=seed)
    value = rows[:, 0].sum() / rows[:, 1].sum()
    return Stat(name, float(value), float(interval.low), float(interval.high), len(rows), subgroup=subgroup)
