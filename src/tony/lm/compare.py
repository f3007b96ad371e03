"""Two language-model runs side by side, every metric family.

Metrics with a value per instance are compared on the instances both runs share, paired (paired
bootstrap; McNemar for 0/1 values): the plain accuracy metrics, the robustness and fairness
worst case and per-perturbation values, and tokens and seconds per instance. Metrics that exist
only for a whole set of instances (calibration, bias, toxicity, tokens per second) are compared
through their stored values and intervals.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from tony.core.stats import PairedComparison, compare_paired
from tony.lm.metrics.families import family_of


@dataclass(frozen=True)
class StatComparison:
    """A whole-run stat of A against B (not paired: each with its own interval)."""

    metric: str
    family: str
    value_a: float
    ci_a: tuple[float, float]
    value_b: float
    ci_b: tuple[float, float]
    difference: float
    """value_a - value_b."""
    intervals_overlap: bool


def instance_values(records: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """metric -> {"draw:instance id" -> value}, for every metric that has a value per instance."""
    values: dict[str, dict[str, float]] = defaultdict(dict)
    originals = {}
    for r in records:
        if r.get("error"):  # not answered (too long for the context, refused): no value to compare
            continue
        key = f"{r['draw']}:{r['instance']['id']}"
        p = r.get("perturbation")
        if not p:
            originals[key] = r
            for name, value in r["stats"].items():
                values[name][key] = value
            completions = [e["completion"] for e in r["exchanges"]]
            values["processed_tokens_per_instance"][key] = sum(c["processed_tokens"] for c in completions)
            values["wall_s_per_instance"][key] = sum(c["wall_s"] for c in completions)
            continue
        for name, value in r["stats"].items():
            values[f"{name}@{p['family']}:{p['label']}"][key] = value
            worst = values[f"{name}@{p['family']}"]
            worst[key] = min(worst.get(key, value), value)
    for name, worst in list(values.items()):
        base, at, family = name.partition("@")
        if at and ":" not in family:  # the worst case includes the original instance
            for key in worst:
                if key in originals and base in originals[key]["stats"]:
                    worst[key] = min(worst[key], originals[key]["stats"][base])
    return dict(values)


def compare_records(records_a: list[dict[str, Any]], records_b: list[dict[str, Any]],
                    metrics: list[str] | None = None) -> list[PairedComparison]:
    """Paired comparisons of every per-instance metric both runs have (or of ``metrics``)."""
    a, b = instance_values(records_a), instance_values(records_b)
    names = metrics or sorted(set(a) & set(b), key=lambda n: (family_of(n), n))
    out = []
    for name in names:
        shared = sorted(set(a.get(name, {})) & set(b.get(name, {})))
        if shared:
            out.append(compare_paired(name, [a[name][k] for k in shared], [b[name][k] for k in shared], seed=0))
    return out


def compare_stats(stats_a: list[dict[str, Any]], stats_b: list[dict[str, Any]], skip: set[str]) -> list[
    StatComparison
]:
    """Whole-run stats (split "" and no subgroup) both runs have, except the names in ``skip``."""
    def whole(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {r["name"]: r for r in rows if not r["split"] and not r["subgroup"] and r["name"] not in skip}

    a, b = whole(stats_a), whole(stats_b)
    out = []
    for name in sorted(set(a) & set(b), key=lambda n: (family_of(n), n)):
        x, y = a[name], b[name]
        out.append(StatComparison(
            name, family_of(name), x["value"], (x["ci_low"], x["ci_high"]), y["value"], (y["ci_low"], y["ci_high"]),
            x["value"] - y["value"], x["ci_low"] <= y["ci_high"] and y["ci_low"] <= x["ci_high"],
        ))
    return out
