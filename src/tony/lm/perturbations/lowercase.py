"""Lowercase: the whole input in lower case, as a careless typist (or a phone) writes it."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from tony.lm.perturbations.base import ROBUSTNESS, Perturbation


class Lowercase(Perturbation):
    """Every letter of the input lowercased; the references keep their case (the answer is unchanged)."""

    name: ClassVar[str] = "lowercase"
    family: ClassVar[str] = ROBUSTNESS

    def perturb_text(self, text: str, rng: np.random.Generator) -> str:
        return text.lower()
