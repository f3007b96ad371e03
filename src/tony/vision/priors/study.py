"""The feature-priors study: one method on one setting over seeds, run through the kernel's runner.

A `PriorsStudySpec` names the setting (`settings.Setting`: data, labeled size, spurious correlation p), the method
(`methods.METHODS`), the priors, the training and the pseudo-labeling schedule (rounds, the final fraction, a
confidence floor) and the number of seeds. Its models are checkpoints in the store keyed by their specs, so a killed
study resumes: finished rounds load, the round in flight continues from its last checkpoint.

Items: every test image (``test-00042``), every cue-conflict image (world only, ``conflict-00042``) and every
(model, round) of pseudo-labeling (``round-edges-2``). Stats, per model (the split: a prior, ``ensemble`` or
``combined``):

- ``accuracy``: test accuracy of the final round, averaged over seeds, with a 95% bootstrap interval over test
  images; subgroups ``cue=aligned`` and ``cue=other`` (images whose spurious cue points to their class, or not);
- ``accuracy_over_seeds``: the same mean with a t interval over seeds (n = seeds);
- ``accuracy@r``: test accuracy after round r (r = 0 .. rounds), for methods with rounds;
- ``pseudo_label_accuracy@r``: the fraction of the pseudo-labels a model was trained on in round r that are right,
  pooled over seeds (n = pseudo-labels);
- ``shape_bias``: on cue-conflict images, decisions that follow the shape among those that follow shape or
  texture (`cue_conflict`), over seeds.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from tony.core.errors import SpecError
from tony.core.runner import RunResult
from tony.core.spec import RunnableSpec
from tony.core.stats import Stat, mean_stat, proportion_stat, spread_over_draws
from tony.core.store import Store
from tony.vision.priors.priors import resolve_prior
from tony.vision.priors.settings import Setting
from tony.vision.priors.training import Training

KIND = "priors"
METHOD_NAMES = ("single", "ensemble", "self_train", "co_train", "co_train_combined")
TEST, CONFLICT, ROUND = "test", "conflict", "round"


class PriorsStudySpec(RunnableSpec):
    """One method with some priors on one setting, over seeds."""

    setting: Setting = Setting()
    method: Literal["single", "ensemble", "self_train", "co_train", "co_train_combined"] = "co_train"
    priors: tuple[str, ...] = ("edges", "bagnet")
    """Names of `priors.PRIORS` (``shape`` and ``texture`` name the default of each kind and are resolved here)."""
    train: Training = Training()
    rounds: int = 3
    """Pseudo-labeling rounds of self- and co-training (0: the single-prior models)."""
    final_fraction: float = 0.5
    """The fraction of the unlabeled set pseudo-labeled in the last round (round r: this times r / rounds)."""
    min_confidence: float = 0.0
    """Pseudo-labels below this confidence (largest softmax probability) are never chosen."""
    combined_prior: str = "standard"
    """co_train_combined: the prior of the model trained on the co-trained pseudo-labels."""
    seeds: int = Field(1, ge=1)
    """Seeds 0 .. seeds-1: each draws its labeled and unlabeled images and initialises its models."""

    @model_validator(mode="before")
    @classmethod
    def _resolve_priors(cls, data: Any) -> Any:
        """Resolve aliases into the spec, so equal work has one key."""
        if isinstance(data, dict):
            if isinstance(data.get("priors"), str):
                data = {**data, "priors": data["priors"].split("+")}
            if data.get("priors") is not None:
                data = {**data, "priors": tuple(resolve_prior(p) for p in data["priors"])}
            if data.get("combined_prior") is not None:
                data = {**data, "combined_prior": resolve_prior(data["combined_prior"])}
        return data

    @model_validator(mode="after")
    def _check(self) -> PriorsStudySpec:
        if not self.priors or len(set(self.priors)) != len(self.priors):
            raise SpecError("give one or more different priors, e.g. --priors shape+texture")
        if self.method in ("ensemble", "co_train", "co_train_combined") and len(self.priors) < 2:
            raise SpecError(f"{self.method} needs at least two priors, e.g. --priors shape+texture")
        if self.rounds < 0:
            raise SpecError(f"rounds must be >= 0, got {self.rounds}")
        if not 0.0 <= self.final_fraction <= 1.0 or not 0.0 <= self.min_confidence <= 1.0:
            raise SpecError(f"final_fraction and min_confidence must be in [0, 1], got {self.final_fraction} and "
                            f"{self.min_confidence}")
        from tony.vision.priors.training import prior_spec

        for prior in {*self.priors, self.combined_prior}:  # an impossible model or size fails now
            prior_spec(self.train, prior, num_classes=self.setting.num_classes, shape=self.setting.shape,
                       images=self.setting.labeled, seed=0, data={})
        return self

    def describe(self) -> str:
        return f"{self.method} {'+'.join(self.priors)} on {self.setting.describe()}"

    def task(self, store: Store) -> PriorsTask:
        return PriorsTask(self, store)


class PriorsTask:
    """The runner's view of a `PriorsStudySpec` (the `tony.core.runner.Task` protocol)."""

    kind = KIND

    def __init__(self, spec: PriorsStudySpec, store: Store) -> None:
        self.spec, self.store = spec, store
        self._results: Any = None

    def labels(self) -> dict[str, Any]:
        spec = self.spec
        setting = spec.setting
        objects = f"{'+'.join(setting.object_textures)}, q = {setting.object_tie:g}" if setting.object_textures else ""
        return {"dataset": setting.dataset, "labeled": setting.labeled, "spurious": setting.spurious,
                "objects": objects, "training": f"width {spec.train.width}, {spec.train.steps} steps",
                "method": spec.method, "priors": "+".join(spec.priors), "seeds": spec.seeds,
                "rounds": spec.rounds if spec.method in ("self_train", "co_train", "co_train_combined") else 0}

    def results(self):
        """Every seed's trajectories (trained, or loaded from the store, on first use)."""
        if self._results is None:
            from tony.vision.priors.run import study_results

            self._results = study_results(self.spec, self.store)
        return self._results

    def items(self) -> list[str]:
        setting, spec = self.spec.setting, self.spec
        items = [f"{TEST}-{i:05d}" for i in range(setting.test)]
        if setting.dataset == "world":
            items += [f"{CONFLICT}-{i:05d}" for i in range(setting.test)]
        if spec.method in ("self_train", "co_train"):
            items += [f"{ROUND}-{prior}-{r}" for prior in spec.priors for r in range(1, spec.rounds + 1)]
        return items

    def process(self, item_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
        return [(item, self.results().record(item)) for item in item_ids]

    def aggregate(self, records: list[dict[str, Any]]) -> list[Stat]:
        return aggregate(records)

    def close(self) -> None:
        self._results = None


def _correct(records: list[dict[str, Any]], model: str, round_: int = -1) -> np.ndarray:
    """[images, seeds] bool: each seed's prediction of `model` after round `round_` (default the last) is right."""
    return np.array([[seed[round_] == r["label"] for seed in r["predictions"][model]] for r in records])


def aggregate(records: list[dict[str, Any]], seed: int = 0) -> list[Stat]:
    """The study's stats from its records (see the module docstring)."""
    test = [r for r in records if r["set"] == TEST]
    conflict = [r for r in records if r["set"] == CONFLICT]
    stats: list[Stat] = []
    for model in test[0]["predictions"]:
        correct = _correct(test, model)
        stats.append(mean_stat("accuracy", correct.mean(1), seed=seed, split=model))
        over_seeds = spread_over_draws("accuracy_over_seeds", correct.mean(0))
        stats.append(dataclasses.replace(over_seeds, split=model))
        aligned = np.array([r["cue"] == r["label"] for r in test])
        for name, rows in (("aligned", aligned), ("other", ~aligned)):
            stats.append(mean_stat("accuracy", correct[rows].mean(1), seed=seed, split=model, subgroup=f"cue={name}"))
        rounds = len(test[0]["predictions"][model][0])
        for round_ in range(rounds if rounds > 1 else 0):
            stats.append(mean_stat(f"accuracy@{round_}", _correct(test, model, round_).mean(1), seed=seed,
                                   split=model, metric="accuracy", at=str(round_)))
        if conflict:
            from tony.vision.priors.cue_conflict import shape_bias

            predictions = np.array([r["predictions"][model] for r in conflict])  # [images, seeds]
            shapes = np.array([r["label"] for r in conflict])[:, None]
            textures = np.array([r["cue"] for r in conflict])[:, None]
            stats.append(shape_bias((predictions == shapes).mean(1), (predictions == textures).mean(1), split=model,
                                    seed=seed))
    for r in (r for r in records if r["set"] == ROUND):
        chosen = sum(n for n, _ in r["pseudo"])
        right = sum(k for _, k in r["pseudo"])
        stat = proportion_stat(f"pseudo_label_accuracy@{r['round']}", [True] * right + [False] * (chosen - right),
                               seed=seed, split=r["model"])
        stats.append(dataclasses.replace(stat, metric="pseudo_label_accuracy", at=str(r["round"])))
    return stats


def run_study(spec: PriorsStudySpec, store: str | None = None, *, batch_size: int = 1000) -> RunResult:
    """Run the study through the kernel's runner (its models are trained, or resumed, on first use)."""
    from tony.core.executors import run_local
    from tony.vision.priors.settings import make_setting

    make_setting(spec.setting, 0)  # bad data (a missing Fashion-MNIST folder) is reported here, not as a failed run
    return next(run_local([spec], store, batch_size=batch_size))
