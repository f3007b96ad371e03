"""Evaluating a trained in-context learner against the baselines, through the kernel's runner.

An `ICLEvalSpec` embeds the `ICLTrainSpec` of its model (trained once, then loaded from the store's
checkpoint artifact by every evaluation of it), a prompt distribution and sizes. Its task's items
are prompts ("prompt-00042", each sampled from a generator seeded by (eval seed, index), so a
resumed run draws the same ones); each record keeps the prompt's targets and every predictor's
prediction at every position. Stats, one per predictor and position k (the number of in-context
examples before the query):

- ``nse@{k}``: mean normalized squared error, (prediction - target)^2 / the class's normalizer,
  over prompts, with a 90% percentile-bootstrap interval (the paper's); n = prompts;
- ``nse``: the mean over positions of each prompt's errors, with the same interval.

The split names the predictor: "" for the transformer (the run's model), ``baseline:<name>``
for each baseline (`tony.icl.baselines`), as the language-model domain names its baselines.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import model_validator

from tony.core.errors import SpecError
from tony.core.spec import RunnableSpec
from tony.core.stats import Stat, bootstrap_ci
from tony.core.store import Store
from tony.icl.train import ICLTrainSpec

KIND = "icl"
TRANSFORMER = ""
"""The transformer's split."""
BASELINE_PREFIX = "baseline:"
EVAL_STREAM = 7_211_931
"""Tags evaluation prompt generators, so they never coincide with a training batch's."""
COMMON_BASELINES = ("least_squares", "averaging", "nearest_neighbors")
CLASS_BASELINES: dict[str, tuple[str, ...]] = {
    "sparse_linear": ("lasso",),
    "relu_2nn": ("gd_network",),
    "decision_tree": ("greedy_tree", "xgboost"),
}
"""Baselines compared for a class besides the common ones (the paper's; xgboost only where installed)."""


def default_baselines(function_class: str) -> tuple[str, ...]:
    """The paper's baselines for `function_class`, leaving out any whose package is missing."""
    import importlib.util

    extra = tuple(b for b in CLASS_BASELINES.get(function_class, ())
                  if b != "xgboost" or importlib.util.find_spec("xgboost") is not None)
    return COMMON_BASELINES + extra


class ICLEvalSpec(RunnableSpec):
    """A trained model and its baselines on one prompt distribution."""

    train: ICLTrainSpec
    """How the model is trained (its checkpoint is found by this spec's key)."""
    distribution: str = "standard"
    """A prompt distribution of `tony.icl.prompts.DISTRIBUTIONS`."""
    scale: float | None = None
    """The factor of scaled_inputs and scaled_outputs."""
    noise_std: float = 1.0
    """The output noise of noisy_outputs."""
    n_points: int = 0
    """Points per prompt; 0 (the default) means the model's maximum, train.curriculum.points_end."""
    n_prompts: int = 1280
    baselines: tuple[str, ...] = ()
    """Baselines by name, with their default hyperparameters; empty means `default_baselines`."""
    seed: int = 1
    """Seeds the evaluation prompts and the bootstrap."""

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any) -> Any:
        """Resolve the defaults (baselines, n_points) into the spec, so equal work has one key."""
        if isinstance(data, dict) and isinstance(data.get("train"), dict | ICLTrainSpec):
            train = data["train"]
            train = train if isinstance(train, ICLTrainSpec) else ICLTrainSpec.parse(train)
            data = {**data, "train": train}
            if not data.get("baselines"):
                data["baselines"] = default_baselines(train.function_class)
            if not data.get("n_points"):
                data["n_points"] = train.max_points
        return data

    @model_validator(mode="after")
    def _check(self) -> ICLEvalSpec:
        from tony.icl.baselines import get_baseline
        from tony.icl.prompts import sample_eval_prompts

        points = self.n_points or self.train.max_points
        if points > self.train.max_points:
            raise SpecError(f"cannot evaluate prompts of {points} points: the model has "
                            f"{2 * self.train.max_points} positions, room for {self.train.max_points} points "
                            "(raise the curriculum's points_end and retrain, or lower n_points)")
        if points < 1 or self.n_prompts < 1:
            raise SpecError(f"need n_points >= 1 and n_prompts >= 1, got {points} and {self.n_prompts}")
        for name in self.baselines:
            get_baseline(name)
        # One prompt now, so a bad distribution or size fails before any training or run.
        sample_eval_prompts(self.train.functions(), 1, points, self.train.dims, **self._prompt_args(), seed=0)
        return self

    @property
    def points(self) -> int:
        return self.n_points or self.train.max_points

    def _prompt_args(self) -> dict[str, Any]:
        return {"active_dims": self.train.curriculum.dims_end, "distribution": self.distribution,
                "scale": self.scale, "noise_std": self.noise_std}

    def normalizer(self) -> float:
        """What squared errors are divided by: the class's output variance at the active dimension."""
        return self.train.functions().normalizer(self.train.curriculum.dims_end)

    def task(self, store: Store) -> ICLEvalTask:
        return ICLEvalTask(self, store)


class ICLEvalTask:
    """The runner's view of an `ICLEvalSpec` (the `tony.core.runner.Task` protocol)."""

    kind = KIND

    def __init__(self, spec: ICLEvalSpec, store: Store) -> None:
        self.spec, self.store = spec, store
        self._model: Any = None

    def labels(self) -> dict[str, Any]:
        train = self.spec.train
        distribution = self.spec.distribution + (f" x{self.spec.scale:g}" if self.spec.scale is not None else "")
        return {"scenario": f"{train.function_class} d={train.dims}", "distribution": distribution,
                "model": f"transformer-{train.model_size}", "train": train.key()[:12]}

    def items(self) -> list[str]:
        return [f"prompt-{i:05d}" for i in range(self.spec.n_prompts)]

    def process(self, item_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
        from tony.icl.baselines import get_baseline

        prompts = self._prompts([int(i.removeprefix("prompt-")) for i in item_ids])
        predictions = {TRANSFORMER: self._transformer(prompts)}
        queries = prompts.query_xs if prompts.shifted_query else None
        for name in self.spec.baselines:
            predictions[BASELINE_PREFIX + name] = get_baseline(name).predict_prefixes(prompts.xs, prompts.ys, queries)
        return [(item, {"targets": _floats(prompts.query_ys[row]),
                        "predictions": {k: _floats(v[row]) for k, v in predictions.items()}})
                for row, item in enumerate(item_ids)]

    def aggregate(self, records: list[dict[str, Any]]) -> list[Stat]:
        from tony.icl.metrics import ICL_CONFIDENCE, normalized_squared_error, position_curve

        records = sorted(records, key=lambda r: r["item_id"])
        targets = np.array([r["targets"] for r in records])
        stats = []
        for split in [TRANSFORMER, *(BASELINE_PREFIX + b for b in self.spec.baselines)]:
            preds = np.array([r["predictions"][split] for r in records])
            errors = normalized_squared_error(preds, targets, self.spec.normalizer())
            curve = position_curve(errors, seed=self.spec.seed)
            stats += [Stat(f"nse@{k}", float(curve.mean[k]), float(curve.low[k]), float(curve.high[k]), curve.n, split,
                           metric="nse", at=str(k)) for k in range(errors.shape[1])]
            low, high = bootstrap_ci(errors.mean(axis=1), confidence=ICL_CONFIDENCE, seed=self.spec.seed)
            stats.append(Stat("nse", float(errors.mean()), low, high, len(errors), split))
        return stats

    def close(self) -> None:
        self._model = None

    def _prompts(self, indices: list[int]):
        from tony.icl.prompts import Prompts, sample_eval_prompts

        spec, functions = self.spec, self.spec.train.functions()
        parts = [sample_eval_prompts(functions, 1, spec.points, spec.train.dims, **spec._prompt_args(),
                                     rng=np.random.default_rng([EVAL_STREAM, spec.seed, i])) for i in indices]
        shifted = parts[0].shifted_query
        xs, ys = np.concatenate([p.xs for p in parts]), np.concatenate([p.ys for p in parts])
        if not shifted:
            return Prompts(xs, ys, xs, ys)
        return Prompts(xs, ys, np.concatenate([p.query_xs for p in parts]), np.concatenate([p.query_ys for p in parts]))

    def _transformer(self, prompts) -> np.ndarray:
        """The model's prediction at every position: one pass, or one per position when queries are shifted."""
        import torch

        from tony.icl.prompts import query_prefix
        from tony.icl.train import trained_model

        if self._model is None:
            self._model = trained_model(self.spec.train, self.store)
        with torch.no_grad():
            if not prompts.shifted_query:
                return self._model(torch.from_numpy(prompts.xs), torch.from_numpy(prompts.ys)).double().numpy()
            columns = []
            for k in range(prompts.xs.shape[1]):
                xs, ys = query_prefix(prompts, k)
                columns.append(self._model(torch.from_numpy(xs), torch.from_numpy(ys))[:, -1].double().numpy())
            return np.stack(columns, axis=1)


def _floats(values: np.ndarray) -> list[float]:
    """JSON-friendly floats, 7 significant digits (float32 precision)."""
    return [float(f"{v:.7g}") for v in np.asarray(values, dtype=np.float64)]
