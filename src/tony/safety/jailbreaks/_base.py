"""What every jailbreak is: a perturbation, in the family "jailbreak", that rewrites the request it is given.

A jailbreak wraps or disguises an instance's input (the request a model should refuse, or answer where it is
safe) and leaves everything else of the instance alone; the references are never touched (safety instances have
none). As for every perturbation, randomness comes from a generator seeded by (seed, instance id), so a variant
is the same text in every run, and the text it makes is what the record keeps as sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from tony.lm.perturbations.base import Perturbation

JAILBREAK = "jailbreak"
"""The perturbation family of jailbreaks: stats `<metric>@jailbreak:<label>`, and the worst case over them."""


class Jailbreak(Perturbation):
    """Base of the jailbreaks: family "jailbreak", the input rewritten, the references kept."""

    family: ClassVar[str] = JAILBREAK
    perturbs_references: ClassVar[bool] = False


def pick(options: Sequence[str], rng: np.random.Generator) -> str:
    """One of `options`, drawn with the instance's generator."""
    return options[int(rng.integers(len(options)))]
