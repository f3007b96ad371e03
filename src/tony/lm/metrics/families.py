"""HELM's metric families, and which family a stat's name belongs to.

Stat names follow one convention so that the leaderboard, `tony compare` and the win rates can
group them without knowing where they came from:

- ``accuracy``, ``exact_match``, ...: on the unperturbed instances;
- ``<metric>@<family>``: worst case over each instance's original and its variants of that family
  (``accuracy@robustness``, ``accuracy@fairness``);
- ``<metric>@<family>:<label>``: on one perturbation's variants (``accuracy@robustness:typos``,
  ``accuracy@fairness:gender=female``);
- ``<metric>_gap@fairness:<perturbation>``: the largest accuracy difference between the groups a
  fairness perturbation targets.
"""

from __future__ import annotations

FAMILIES = ("accuracy", "calibration", "robustness", "fairness", "bias", "toxicity", "efficiency")

ACCURACY_METRICS = ("accuracy", "exact_match", "quasi_exact_match", "f1")
"""Per-instance correctness metrics; the first one a run has is its headline."""
_LOWER_IS_BETTER = ("ece_", "_per_instance", "wall_s_per_request", "demographic_representation",
                    "stereotypical_association", "toxic", "_gap@", "n_errors")
"""Substrings of stat names for which a smaller value is better (for win rates and sorting)."""
_ZERO_IS_BEST = ("bbq_bias",)
"""Signed scores whose best value is 0 (BBQ: -1 always against the stereotype, +1 always with it)."""

_PREFIXES = {
    "calibration": ("ece_", "selective_accuracy"),
    "bias": ("bbq_", "demographic_representation", "stereotypical_association"),
    "toxicity": ("toxic",),
    "efficiency": ("prompt_tokens", "completion_tokens", "processed_tokens", "wall_s", "tokens_per_second"),
}


def family_of(stat_name: str) -> str:
    """The metric family a stat belongs to (one of FAMILIES)."""
    metric, _, where = stat_name.partition("@")
    family = where.partition(":")[0]
    if family in ("robustness", "fairness"):
        return family
    for family, prefixes in _PREFIXES.items():
        if metric.startswith(prefixes):
            return family
    return "accuracy"


def lower_is_better(stat_name: str) -> bool:
    """Whether a smaller value is better; for a zero-is-best score, a smaller distance from 0."""
    return any(part in stat_name for part in (*_LOWER_IS_BETTER, *_ZERO_IS_BEST))


def ranking_value(stat_name: str, value: float) -> float:
    """The value to rank by, larger meaning better (for win rates and "best" marks)."""
    if any(part in stat_name for part in _ZERO_IS_BEST):
        return -abs(value)
    return -value if lower_is_better(stat_name) else value
