"""What a stored number measures (HELM's MetricName), and which of its values are better.

A stat is identified by the metric it is a value of, the family it is reported under, the split and subgroup
of instances it is over, the variant of those instances (a perturbation) and, for a curve, the point it is at.
Its name (``accuracy``, ``accuracy@robustness:typos``, ``nse@10``) is only how it is shown and keyed in the
store: every decision (which tab of the leaderboard, whether `tony results` shows it, which value wins) is taken
on the fields.

Each metric declares its family and direction where it is registered (registry kind "metric", `MetricInfo`);
the store writes both beside every stat, so a reader never has to know where a stat came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tony.core.metric_info import Direction, MetricInfo

WORST_CASE = "worst"
"""The variant of a family's worst case: per instance, the worst of its original and every variant of the family."""
DRAWS = "draws"
"""The split of a mean over few-shot draws (or seeds), with a t interval over them."""
DRAW_PREFIX = "draw"
"""The split of one few-shot draw is this prefix and the draw's number (draw0, draw1, ...)."""


@dataclass(frozen=True)
class StatId:
    """The structured identity of one stat of a run."""

    metric: str
    """The registered metric the value is of: accuracy, ece_10_bin, nse, accuracy_gap, ..."""
    family: str = ""
    """The family it is reported under: HELM's (accuracy, calibration, robustness, fairness, bias, toxicity,
    efficiency) for language models, a domain's own otherwise ("" where the metric declares none)."""
    split: str = ""
    """Which split, few-shot draw or predictor the value belongs to: "" for all, "draws" for the spread over
    draws, "draw0" for one draw, "baseline:chance" for a reference predictor, a model or intervention name."""
    subgroup: str = ""
    """A subgroup of the instances ("category=Age", "objects:2"); "" for all of them."""
    variant: str = ""
    """The perturbation the value is on: "" for the unperturbed instances, "worst" for the family's worst case,
    else one perturbation's label (typos, gender=female), "unperturbed" for the originals of the perturbed
    instances, or a perturbation's name for the gap between its targets."""
    at: str = ""
    """Where on a curve the value is, as written in its name: ICL's number of in-context examples (nse@10), a
    selective-accuracy coverage (selective_accuracy@0.5); "" for a value that is not a point of a curve."""

    @property
    def name(self) -> str:
        """The display name, as stores have always keyed it: metric, metric@at, metric@family[:variant]."""
        if self.at:
            return f"{self.metric}@{self.at}"
        if self.variant == WORST_CASE:
            return f"{self.metric}@{self.family}"
        if self.variant:
            return f"{self.metric}@{self.family}:{self.variant}"
        return self.metric

    @property
    def is_detail(self) -> bool:
        """Whether it only breaks a headline down: one draw, one subgroup or one perturbation's variants
        (`tony results` shows these with --all)."""
        one_draw = self.split.startswith(DRAW_PREFIX) and self.split[len(DRAW_PREFIX):].isdigit()
        return one_draw or bool(self.subgroup) or self.variant not in ("", WORST_CASE)

    @classmethod
    def of_row(cls, row: Mapping[str, Any]) -> StatId:
        """The identity of a stored stat row (as `Store.stats` returns it)."""
        return cls(row["metric"], row["family"], row["split"], row["subgroup"], row["variant"], row["at"])


def registered_metrics() -> dict[str, MetricInfo]:
    """Every registered metric's declaration, by metric name (none for a metric registered without one)."""
    from tony.core.registry import registry

    return {entry.name: entry.metric_info for entry in registry.entries("metric") if entry.metric_info is not None}


def stored_fields(stat_id: StatId, declared: Mapping[str, MetricInfo]) -> dict[str, Any]:
    """The stats table's identity and direction columns of a stat: its fields, the family its metric declares
    where the stat names none, and the metric's direction (None, None where the metric is not registered)."""
    info = declared.get(stat_id.metric)
    direction = info.direction if info else Direction(None)
    return {"metric": stat_id.metric, "family": stat_id.family or (info.family if info else ""),
            "variant": stat_id.variant, "at": stat_id.at, "higher_is_better": direction.higher_is_better,
            "target": direction.target}
