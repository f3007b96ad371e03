"""Chance and majority-answer baselines, so that a small model's numbers can be read.

Both are computed from the run's own (unperturbed) instances, as stats with split
``baseline:chance`` and ``baseline:majority``; the leaderboard shows them as rows.

- chance (multiple choice): the expected accuracy of picking an option uniformly at random,
  (correct options) / (options) per instance, which is also the `correct_mass` of a model that
  spreads its probability evenly over the options;
- majority: always answer the most common correct answer text of the run's instances (for
  multiple choice, an instance whose options do not include it is answered at random, as chance
  would; for generation, exact match of that text).
"""

from __future__ import annotations

from collections import Counter

from tony.core.stats import Stat, mean_stat
from tony.lm.record import LMRecord
from tony.lm.types import Instance

CHANCE = "baseline:chance"
MAJORITY = "baseline:majority"


def baseline_stats(records: list[LMRecord], *, multiple_choice: bool, seed: int = 0) -> list[Stat]:
    # Over the instances the model answered (not those recorded as errors), so they compare with its accuracy.
    instances = [r.instance for r in records if r.is_original and r.answered]
    if not instances:
        return []
    counts = Counter(output for i in instances for output in i.correct_outputs)
    if not counts:
        return []
    majority = counts.most_common(1)[0][0]
    if not multiple_choice:
        hits = [float(majority in i.correct_outputs) for i in instances]
        return [mean_stat("exact_match", hits, seed=seed, split=MAJORITY)]
    chance = [_chance(i) for i in instances]
    picks = [_majority_pick(i, majority, c) for i, c in zip(instances, chance, strict=True)]
    return [mean_stat("accuracy", chance, seed=seed, split=CHANCE),
            mean_stat("correct_mass", chance, seed=seed, split=CHANCE),
            mean_stat("accuracy", picks, seed=seed, split=MAJORITY)]


def _chance(instance: Instance) -> float:
    references = instance.references
    return sum(r.is_correct for r in references) / len(references) if references else 0.0


def _majority_pick(instance: Instance, majority: str, chance: float) -> float:
    for reference in instance.references:
        if reference.output == majority:
            return float(reference.is_correct)
    return chance
