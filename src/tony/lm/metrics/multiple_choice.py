"""Multiple-choice accuracy."""

from __future__ import annotations


def accuracy(chosen_option: str, correct_options: list[str]) -> float:
    """1.0 when the chosen option is one of the correct ones."""
    return float(chosen_option in correct_options)
