"""HELM's metric families and tony's safety ones, in the order the leaderboard shows them.

A stat's family is one of its structured fields (`tony.core.stat_id.StatId.family`): its metric declares it where
it is registered (`tony.catalog.METRICS`), and a stat on perturbed instances is in its perturbation's family
(robustness, fairness or jailbreak). Which values are better is the metric's declared direction, never read from a
name.
"""

from __future__ import annotations

FAMILIES = ("accuracy", "calibration", "robustness", "fairness", "bias", "toxicity", "safety", "jailbreak", "speech",
            "efficiency")

ACCURACY_METRICS = ("accuracy", "exact_match", "quasi_exact_match", "f1")
"""Per-instance correctness metrics; the first one a run has is its headline."""

SAFETY_METRICS = ("not_overrefuse", "not_unsafe", "refusal_rate", "partial_refusal_rate")
"""Per-instance safety columns (tony.safety.metrics) whose means are also taken per jailbreak (or other
perturbation), with the worst case over them."""
