"""Two language-model runs side by side, every metric family.

Metrics with a value per instance are compared on the instances both runs share, paired (paired
bootstrap; McNemar for 0/1 values): the plain accuracy metrics, the robustness and fairness
worst case and per-perturbation values, and tokens and seconds per instance. Metrics that exist
only for a whole set of instances (calibration, bias, toxicity, tokens per second) are compared
through their stored values and intervals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from tony.core.metric_info import HIGHER, Direction, MetricInfo
from tony.core.stat_id import WORST_CASE, StatId, registered_metrics
from tony.core.stats import PairedComparison, compare_paired
from tony.lm.record import LMRecord

EFFICIENCY_PER_INSTANCE = ("processed_tokens_per_instance", "wall_s_per_instance")
"""The efficiency metrics with a value per instance (the sums over its requests), compared paired."""


@dataclass(frozen=True)
class StatComparison:
    """A whole-run stat of A against B (not paired: each with its own interval)."""

    metric: str
    """The stat's display name."""
    family: str
    value_a: float
    ci_a: tuple[float, float]
    value_b: float
    ci_b: tuple[float, float]
    difference: float
    """value_a - value_b."""
    intervals_overlap: bool
    higher_is_better: bool | None = None
    """The metric's declared direction (None: closest to its target is best, or no value is better)."""


@dataclass(frozen=True)
class MetricComparison(PairedComparison):
    """A paired comparison of one per-instance metric, with the family and direction of its stat."""

    family: str = ""
    """The family the stat is reported under."""
    higher_is_better: bool | None = None
    """The metric's declared direction (None: closest to its target is best, or no value is better)."""


def instance_values(records: list[LMRecord]) -> dict[str, dict[str, float]]:
    """stat name -> {"draw:instance id" -> value}, for every stat that has a value per instance."""
    return {stat_id.name: values for stat_id, values in _instance_values(records, registered_metrics()).items()}


def _instance_values(records: list[LMRecord], declared: dict[str, MetricInfo]) -> dict[StatId, dict[str, float]]:
    """The per-instance values of each stat: the metrics of the originals, their values on each perturbation's
    variants, and per family the worst case over an instance's original and variants."""
    values: dict[StatId, dict[str, float]] = defaultdict(dict)
    originals: dict[str, LMRecord] = {}
    for r in records:
        if not r.answered:  # not answered (too long for the context, refused): no value to compare
            continue
        key = f"{r.draw}:{r.instance.id}"
        p = r.perturbation
        if p is None:
            originals[key] = r
            completions = r.completions
            per_instance = {**r.stats, EFFICIENCY_PER_INSTANCE[0]: sum(c.processed_tokens for c in completions),
                            EFFICIENCY_PER_INSTANCE[1]: sum(c.wall_s for c in completions)}
            for name, value in per_instance.items():
                values[StatId(name, declared[name].family if name in declared else "")][key] = value
            continue
        for name, value in r.stats.items():
            values[StatId(name, p.family, variant=p.label)][key] = value
            direction = _direction(name, declared)
            if direction.ordered:  # a metric with no better value has no worst case
                worst = values[StatId(name, p.family, variant=WORST_CASE)]
                worst[key] = min(worst.get(key, value), value, key=direction.rank)
    for stat_id, worst in values.items():
        if stat_id.variant == WORST_CASE:  # the worst case includes the original instance
            rank = _direction(stat_id.metric, declared).rank
            for key in worst:
                if key in originals and stat_id.metric in originals[key].stats:
                    worst[key] = min(worst[key], originals[key].stats[stat_id.metric], key=rank)
    return dict(values)


def _direction(metric: str, declared: Mapping[str, MetricInfo]) -> Direction:
    """The metric's registered direction (higher is better for one registered without one, as before)."""
    return declared[metric].direction if metric in declared else HIGHER


def compare_records(records_a: list[LMRecord], records_b: list[LMRecord],
                    metrics: list[str] | None = None) -> list[MetricComparison]:
    """Paired comparisons of every per-instance stat both runs have (or of the stats named ``metrics``), by family."""
    declared = registered_metrics()
    a, b = _instance_values(records_a, declared), _instance_values(records_b, declared)
    ids = {stat_id.name: stat_id for stat_id in (*a, *b)}
    chosen = [ids[name] for name in metrics if name in ids] if metrics else sorted(
        set(a) & set(b), key=lambda i: (i.family, i.name))
    out = []
    for stat_id in chosen:
        shared = sorted(set(a.get(stat_id, {})) & set(b.get(stat_id, {})))
        if shared:
            paired = compare_paired(stat_id.name, [a[stat_id][k] for k in shared], [b[stat_id][k] for k in shared],
                                    seed=0)
            info = declared.get(stat_id.metric)
            out.append(MetricComparison(**asdict(paired), family=stat_id.family,
                                        higher_is_better=info.direction.higher_is_better if info else None))
    return out


def compare_stats(stats_a: list[dict[str, Any]], stats_b: list[dict[str, Any]], skip: set[str]) -> list[
    StatComparison
]:
    """Whole-run stats (split "" and no subgroup) both runs have, except the names in ``skip``, by family."""
    def whole(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {r["name"]: r for r in rows if not r["split"] and not r["subgroup"] and r["name"] not in skip}

    a, b = whole(stats_a), whole(stats_b)
    out = []
    for name in sorted(set(a) & set(b), key=lambda n: (a[n]["family"], n)):
        x, y = a[name], b[name]
        out.append(StatComparison(
            name, x["family"], x["value"], (x["ci_low"], x["ci_high"]), y["value"], (y["ci_low"], y["ci_high"]),
            x["value"] - y["value"], x["ci_low"] <= y["ci_high"] and y["ci_low"] <= x["ci_high"],
            x["higher_is_better"],
        ))
    return out
