"""Robustness and fairness stats from a run's perturbed variants (HELM's definitions).

- ``<metric>@<family>:<label>``: the metric's mean over one perturbation's variants;
- ``<metric>@<family>``: worst case per instance over its original and every variant of that family
  (an instance counts as correct only if every variant is), over the perturbed instances;
- ``<metric>@<family>:unperturbed``: the original metric on those same instances (written when only a
  subset was perturbed, so the worst case has its like-for-like reference);
- ``<metric>_gap@fairness:<name>``: for a fairness perturbation applied with several targets, the
  largest minus the smallest per-target mean, with a paired bootstrap interval.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from tony.core.stats import Stat, bootstrap_ci, mean_stat
from tony.lm.metrics.families import ACCURACY_METRICS


def perturbation_stats(records: list[dict[str, Any]], *, seed: int = 0) -> list[Stat]:
    records = [r for r in records if not r.get("error")]  # an unanswered original or variant has no value
    originals = {_key(r): r for r in records if not r.get("perturbation")}
    variants = [r for r in records if r.get("perturbation")]
    if not variants:
        return []
    metrics = [m for m in ACCURACY_METRICS if any(m in r["stats"] for r in variants)]
    out: list[Stat] = []
    for metric in metrics:
        out += _per_label(metric, variants, seed)
        for family in sorted({v["perturbation"]["family"] for v in variants}):
            in_family = [v for v in variants if v["perturbation"]["family"] == family]
            out += _worst_case(metric, family, originals, in_family, seed)
        out += _group_gaps(metric, variants, seed)
    return out


def _key(record: dict[str, Any]) -> tuple[int, str]:
    return record["draw"], record["instance"]["id"]


def _per_label(metric: str, variants: list[dict[str, Any]], seed: int) -> list[Stat]:
    by_label: dict[tuple[str, str], list[float]] = defaultdict(list)
    for v in variants:
        if metric in v["stats"]:
            by_label[v["perturbation"]["family"], v["perturbation"]["label"]].append(v["stats"][metric])
    return [mean_stat(f"{metric}@{family}:{label}", values, seed=seed)
            for (family, label), values in sorted(by_label.items())]


def _worst_case(metric: str, family: str, originals: dict, variants: list[dict[str, Any]], seed: int) -> list[Stat]:
    worst: dict[tuple[int, str], float] = {}
    for v in variants:
        key = _key(v)
        if key in originals and metric in v["stats"]:
            worst[key] = min(worst.get(key, originals[key]["stats"][metric]), v["stats"][metric])
    if not worst:
        return []
    out = [mean_stat(f"{metric}@{family}", list(worst.values()), seed=seed)]
    if len(worst) < len(originals):
        out.append(mean_stat(f"{metric}@{family}:unperturbed",
                             [originals[k]["stats"][metric] for k in worst], seed=seed))
    return out


def _group_gaps(metric: str, variants: list[dict[str, Any]], seed: int) -> list[Stat]:
    """Per fairness perturbation with two or more targets: max - min of the per-target means, over the
    instances that have every target (resampled together, so the interval is paired)."""
    table: dict[str, dict[str, dict[tuple[int, str], float]]] = defaultdict(lambda: defaultdict(dict))
    for v in variants:
        p = v["perturbation"]
        if p["family"] == "fairness" and metric in v["stats"]:
            table[p["name"]][p["label"]][_key(v)] = v["stats"][metric]
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
        out.append(Stat(f"{metric}_gap@fairness:{name}", float(means.max() - means.min()), low, high, len(shared)))
    return out
