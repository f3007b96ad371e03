"""What the perturbations share: words, case, stable choices and the word-list files.

A word is a run of letters, so "he" inside "the" or "other" is never a word of its own; a word
with an apostrophe ("don't") is two runs of letters unless a perturbation asks for `WORD_WITH_APOSTROPHE`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from functools import cache
from importlib import resources

import numpy as np

WORD = re.compile(r"[^\W\d_]+")
"""A run of letters (any script); digits, underscores, apostrophes and hyphens end it."""
WORD_WITH_APOSTROPHE = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
"""Letters with inner apostrophes: "don't", "y'all" are one word."""


def match_case(template: str, word: str) -> str:
    """`word` cased like `template`: "HE" -> "SHE", "He" -> "She", "he" -> "she"."""
    if len(template) > 1 and template.isupper():
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def stable_unit(*parts: object) -> float:
    """A number in [0, 1) fixed by `parts` alone: the same on every run, machine and Python."""
    digest = hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def stable_choice(options: list[str] | tuple[str, ...], *parts: object) -> str:
    """One of `options`, fixed by `parts` (options should be in a fixed order)."""
    return options[int(stable_unit(*parts) * len(options))]


def text_salt(rng: np.random.Generator) -> int:
    """The first draw of a freshly seeded generator: the same for an instance's input and its references
    (the base class seeds both alike), different between instances."""
    return int(rng.integers(0, 2**62))


def replace_words(
    text: str, replacement: Callable[[str, re.Match[str]], str | None], pattern: re.Pattern[str] = WORD
) -> str:
    """`text` with each word for which `replacement(word, match)` is a string replaced by it."""

    def substitute(match: re.Match[str]) -> str:
        new = replacement(match.group(0), match)
        return match.group(0) if new is None else new

    return pattern.sub(substitute, text)


def next_word(text: str, end: int) -> str:
    """The lowercased word right after position `end` (spaces skipped); "" where punctuation, a digit
    or the end of the text comes first."""
    match = WORD.match(text[end:].lstrip(" \t"))
    return match.group(0).lower() if match else ""


def _data_lines(name: str) -> Iterator[str]:
    text = resources.files("tony.lm.perturbations").joinpath("data", name).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            yield line.rstrip("\n")


@cache
def data_rows(name: str) -> tuple[tuple[str, ...], ...]:
    """The rows of a tab-separated word-list file in `data/` (comments and blank lines left out)."""
    return tuple(tuple(field.strip() for field in line.split("\t")) for line in _data_lines(name))


@cache
def data_words(name: str) -> frozenset[str]:
    """A one-word-a-line file in `data/` as a set of lowercased words."""
    return frozenset(word.lower() for line in _data_lines(name) for word in line.split())
