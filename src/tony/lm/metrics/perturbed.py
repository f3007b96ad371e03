"""Robustness, fairness and jailbreak stats from a run's perturbed variants (HELM's definitions), for the
accuracy metrics and the safety ones (tony.safety.metrics).

- ``<metric>@<family>:<label>``: the metric's mean over one perturbation's variants;
- ``<metric>@<family>``: worst case per instance over its original and every variant of that family, worst by
  the metric's registered direction (an instance counts as correct only if every variant is; a lower-is-better
  value counts at its largest), over the perturbed instances; none for a metric with no better value;
- ``<metric>@<family>:unperturbed``: the original metric on those same instances (written when only a
  subset was perturbed, so the worst case has its like-for-like reference);
- ``<metric>_gap@fairness:<name>``: for a fairness perturbation applied with several targets, the
  largest minus the smallest per-target mean, with a paired bootstrap interval.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from tony.core.metric_info import HIGHER, Direction
from tony.core.stat_id import WORST_CASE, registered_metrics
from tony.core.stats import Stat, bootstrap_ci, mean_stat
from tony.lm.metrics.families import ACCURACY_METRICS, SAFETY_METRICS
from tony.lm.record import AppliedPerturbation, LMRecord

Variant = tuple[LMRecord, AppliedPerturbation]
"""A perturbed record with its perturbation (the record's own, typed as set)."""


def perturbation_stats(records: list[LMRecord], *, seed: int = 0) -> list[Stat]:
    records = [r for r in records if r.answered]  # an unanswered original or variant has no value
    originals = {r.key: r for r in records if r.is_original}
    variants: list[Variant] = [(r, r.perturbation) for r in records if r.perturbation is not None]
    if not variants:
        return []
    metrics = [m for m in (*ACCURACY_METRICS, *SAFETY_METRICS) if any(m in r.stats for r, _ in variants)]
    declared = registered_metrics()
    out: list[Stat] = []
    for metric in metrics:
        direction = declared[metric].direction if metric in declared else HIGHER
        out += _per_label(metric, variants, seed)
        for family in sorted({p.family for _, p in variants}):
            in_family = [v for v, p in variants if p.family == family]
            out += _worst_case(metric, family, originals, in_family, seed, direction)
        out += _group_gaps(metric, variants, seed)
    return out


def _per_label(metric: str, variants: list[Variant], seed: int) -> list[Stat]:
    by_label: dict[tuple[str, str], list[float]] = defaultdict(list)
    for v, p in variants:
        if metric in v.stats:
            by_label[p.family, p.label].append(v.stats[metric])
    return [mean_stat(f"{metric}@{family}:{label}", values, seed=seed, metric=metric, family=family, variant=label)
            for (family, label), values in sorted(by_label.items())]


def _worst_case(metric: str, family: str, originals: dict[tuple[int, str], LMRecord], variants: list[LMRecord],
                seed: int, direction: Direction) -> list[Stat]:
    if not direction.ordered:  # no value is worse than another
        return []
    worst: dict[tuple[int, str], float] = {}
    for v in variants:
        key = v.key
        if key in originals and metric in v.stats:
            # The lowest ranked of the two (min on a tie: either value, they are equal).
            worst[key] = min(worst.get(key, originals[key].stats[metric]), v.stats[metric], key=direction.rank)
    if not worst:
        return []
    out = [mean_stat(f"{metric}@{family}", list(worst.values()), seed=seed, metric=metric, family=family,
                     variant=WORST_CASE)]
    if len(worst) < len(originals):
        out.append(mean_stat(f"{metric}@{family}:unperturbed", [originals[k].stats[metric] for k in worst],
                             seed=seed, metric=metric, family=family, variant="unperturbed"))
    return out


def _group_gaps(metric: str, variants: list[Variant], seed: int) -> list[Stat]:
    """Per fairness perturbation with two or more targets: max - min of the per-target means, over the
    instances that have every target (resampled together, so the interval is paired)."""
    table: dict[str, dict[str, dict[tuple[int, str], float]]] = defaultdict(lambda: defaultdict(dict))
    for v, p in variants:
        if p.family == "fairness" and metric in v.stats:
            table[p.name][p.label][v.key] = v.stats[metric]
    out = []
    for name, by_label in sorted(table.items()):
        if len(by_label) < 2:
            continue
        shared = sorted(set.intersection(*(set(values) for values in by_label.values())))
        if not shared:
            continue
        matrix = np.array([[by_label[label][k] for label in sorted(by_label)] for k in shared])
        means = matrix.mean(axis=0)
        low, high = bootstrap_ci(matrix, lambda s: np.ptp(s.mean(axis=-2), axis=-1), seed=seed)
        out.append(Stat(f"{metric}_gap@fairness:{name}", float(means.max() - means.min()), low, high, len(shared),
                        metric=f"{metric}_gap", family="fairness", variant=name))
    return out
