"""From a run's records to its stats: every metric with n and a 95% bootstrap interval.

Per-instance stats are averaged over the unperturbed items, per few-shot draw, per
subgroup and per facet value ("category=Age"); with several draws the spread across draws is its own stat.
Calibration and efficiency are computed from the whole set of unperturbed records;
robustness and fairness from the perturbed variants beside them (see perturbed.py).

A record with ``error`` set (its request could not be answered: too long for the context, refused
by the server) counts only in ``n_errors`` (the number of such records, n all records); every other
stat is over the answered records alone, so an accuracy's n says how many instances it is over.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from tony.core.stat_id import StatId
from tony.core.stats import Stat, bootstrap, bootstrap_ci, mean_stat, spread_over_draws
from tony.lm.metrics.baselines import baseline_stats
from tony.lm.metrics.bias import bias_stats
from tony.lm.metrics.calibration import COVERAGES
from tony.lm.metrics.perturbed import perturbation_stats
from tony.lm.metrics.toxicity import toxicity_stats
from tony.lm.record import LMRecord
from tony.lm.types import Instance


def lm_stats(records: list[LMRecord], *, seed: int = 0, multiple_choice: bool = True) -> list[Stat]:
    answered = answered_records(records)
    originals = [r for r in answered if r.is_original]
    stats: list[Stat] = [error_stat(records)]
    stats += _instance_means(originals, seed)
    stats += calibration_stats(originals, seed)
    stats += efficiency_stats(originals, seed)
    stats += perturbation_stats(answered, seed=seed)
    stats += baseline_stats(originals, multiple_choice=multiple_choice, seed=seed)
    stats += bias_stats(originals, seed=seed)  # BBQ records and generations; nothing for other records
    stats += toxicity_stats(originals, seed=seed)  # generations only
    stats += perturbations_own_stats(answered, seed=seed)
    return stats


def perturbations_own_stats(records: list[LMRecord], *, seed: int = 0) -> list[Stat]:
    """Each perturbation's own stats (`Perturbation.own_stats`) over the instances it made in these records."""
    from tony.core.registry import registry

    made: dict[str, list[Instance]] = {}
    for record in records:
        if record.perturbation is not None:
            made.setdefault(record.perturbation.name, []).append(record.instance)
    return [stat for name in sorted(made) for stat in registry.get("perturbation", name).own_stats(made[name],
                                                                                                 seed=seed)]


def answered_records(records: list[LMRecord]) -> list[LMRecord]:
    """The records whose requests were answered (no ``error``): the only ones any metric reads."""
    return [r for r in records if r.answered]


def error_stat(records: list[LMRecord]) -> Stat:
    """n_errors: how many records are errors (an exact count, so its interval is itself), n all records."""
    count = float(sum(1 for r in records if not r.answered))
    return Stat("n_errors", count, count, count, len(records))


def _instance_means(records: list[LMRecord], seed: int) -> list[Stat]:
    records = answered_records(records)
    out: list[Stat] = []
    names = sorted({name for r in records for name in r.stats})
    draws = sorted({r.draw for r in records})
    subgroups = sorted({r.instance.subgroup for r in records} - {""})
    facets = sorted({f"{k}={v}" for r in records for k, v in r.instance.facets.items()})
    for name in names:
        values = [r.stats[name] for r in records if name in r.stats]
        out.append(mean_stat(name, values, seed=seed))
        if len(draws) > 1:
            per_draw = []
            for d in draws:
                in_draw = [r.stats[name] for r in records if r.draw == d]
                stat = mean_stat(name, in_draw, seed=seed, split=f"draw{d}")
                per_draw.append(stat.value)
                out.append(stat)
            out.append(spread_over_draws(name, per_draw))
        for group in subgroups:
            members = [r.stats[name] for r in records if name in r.stats and r.instance.subgroup == group]
            if members:
                out.append(mean_stat(name, members, seed=seed, subgroup=group))
        for facet in facets:
            key, _, value = facet.partition("=")
            members = [r.stats[name] for r in records if name in r.stats and r.instance.facets.get(key) == value]
            if members:
                out.append(mean_stat(name, members, seed=seed, subgroup=facet))
    return out


def calibration_stats(records: list[LMRecord], seed: int) -> list[Stat]:
    """ECE (10 bins), selective accuracy at each coverage and its area, with bootstrap intervals."""
    rows = np.array([(r.confidence, float(r.correct)) for r in answered_records(records)
                     if r.confidence is not None and r.correct is not None])
    if len(rows) == 0:
        return []
    point = _calibration_summary(rows[None, :, 0], rows[None, :, 1])[0]
    interval = bootstrap(rows, lambda s: _calibration_summary(s[..., 0], s[..., 1]), seed=seed)
    low, high = interval.low, interval.high
    ids = [StatId("ece_10_bin"), StatId("selective_accuracy_area"), *(StatId("selective_accuracy", at=str(c))
                                                                      for c in COVERAGES)]
    return [Stat(i.name, float(value), float(lo), float(hi), len(rows), metric=i.metric, at=i.at)
            for i, value, lo, hi in zip(ids, point, low, high, strict=True)]


def _calibration_summary(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> np.ndarray:
    """(samples, n) arrays -> (samples, 2 + len(COVERAGES)): ECE, selective-accuracy area, accuracy at
    each coverage. The same definitions as tony.lm.metrics.calibration, for many samples at once."""
    samples, n = confidence.shape
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1) + bins * np.arange(samples)[:, None]
    gap = np.bincount(which.ravel(), (correct - confidence).ravel(), minlength=samples * bins)
    ece = np.abs(gap.reshape(samples, bins)).sum(axis=1) / n
    order = np.argsort(-confidence, axis=1, kind="stable")
    prefix = np.cumsum(np.take_along_axis(correct, order, axis=1), axis=1) / np.arange(1, n + 1)
    at = prefix[:, [max(int(round(c * n)), 1) - 1 for c in COVERAGES]]
    return np.column_stack([ece, prefix.mean(axis=1), at])


def efficiency_stats(records: list[LMRecord], seed: int) -> list[Stat]:
    """Tokens per instance, seconds per request and tokens per second (original timings, cached or not)."""
    totals: dict[str, list[float]] = defaultdict(list)
    per_request_wall: list[float] = []
    for record in answered_records(records):
        completions = record.completions
        for field in ("prompt_tokens", "completion_tokens", "processed_tokens"):
            totals[field].append(sum(getattr(c, field) for c in completions))
        totals["wall_s"].append(sum(c.wall_s for c in completions))
        per_request_wall += [c.wall_s for c in completions]
    out = [mean_stat(f"{name}_per_instance", values, seed=seed) for name, values in totals.items()]
    out.append(mean_stat("wall_s_per_request", per_request_wall, seed=seed))
    pairs = np.array([totals["processed_tokens"], totals["wall_s"]]).T
    if pairs[:, 1].sum() > 0:
        low, high = bootstrap_ci(
            pairs, lambda s: s[..., 0].sum(axis=-1) / np.maximum(s[..., 1].sum(axis=-1), 1e-12), seed=seed
        )
        out.append(Stat("tokens_per_second", float(pairs[:, 0].sum() / pairs[:, 1].sum()), low, high, len(pairs)))
    return out
