"""Training runs through the kernel's runner, and ablation sweeps of presets x switches x seeds.

An `RLSpec` is one run. Its task's items are iterations ("iter-0001", ...); processing a batch of
them trains up to the last one, checkpoints the whole trainer (`tony.core.checkpoints`) and returns
their records (the iteration's diagnostics and finished episodes). A killed run resumes from its
checkpoint; the checkpoint holds every record it trained, so iterations trained but not yet
committed to the store are returned from it rather than trained twice. Per-run stats:

- ``final_return``: mean raw return of the episodes that ended in the last `FINAL_ITERATIONS`
  iterations, with a bootstrap interval over those episodes;
- ``kl``, ``max_ratio``, ``clip_fraction``, ``entropy``, ``value_loss``: means over iterations
  with bootstrap intervals (n = iterations).

An ablation is a list of specs: for each preset, the preset itself and, per switch named, the
preset with that switch flipped; each with every seed. `seed_summary` averages runs that differ
only by seed: the mean over seeds with a t interval (n = seeds).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from tony.core.stats import Stat, mean_stat, spread_over_draws
from tony.core.store import Store
from tony.rl.config import RLSpec, get_preset, make_spec

KIND = "rl"
FINAL_ITERATIONS = 10
DIAGNOSTICS = ("kl", "max_ratio", "clip_fraction", "entropy", "value_loss")


def item_id(iteration: int) -> str:
    return f"iter-{iteration:05d}"


class RLTask:
    """The runner's view of an `RLSpec` (the `tony.core.runner.Task` protocol)."""

    kind = KIND

    def __init__(self, spec: RLSpec, store: Store) -> None:
        self.spec, self.store = spec, store
        self._trainer: Any = None
        self._threads_before: int | None = None

    def labels(self) -> dict[str, Any]:
        return {"scenario": self.spec.env, "method": self.spec.label(), "seed": self.spec.seed,
                "steps": self.spec.total_steps}

    def items(self) -> list[str]:
        return [item_id(i) for i in range(1, self.spec.iterations + 1)]

    def process(self, item_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
        from tony.core.checkpoints import save_checkpoint

        trainer = self._load()
        target = max(int(i.removeprefix("iter-")) for i in item_ids)
        if trainer.iteration < target:
            while trainer.iteration < target:
                trainer.step()
            save_checkpoint(self.store, self.spec, trainer.state())
        return [(i, trainer.history[int(i.removeprefix("iter-")) - 1]) for i in item_ids]

    def aggregate(self, records: list[dict[str, Any]]) -> list[Stat]:
        rows = sorted(records, key=lambda r: r["iteration"])
        final = [x for r in rows[-FINAL_ITERATIONS:] for x in r["episode_returns"]]
        stats = [mean_stat("final_return", final, seed=self.spec.seed)]
        for name in DIAGNOSTICS:
            values = [r[name] for r in rows if r.get(name) is not None]
            stats.append(mean_stat(name, values, seed=self.spec.seed))
        return stats

    def close(self) -> None:
        if self._trainer is not None:
            self._trainer.close()
            self._trainer = None
        if self._threads_before is not None:  # torch's thread count is process-wide: give it back
            import torch

            torch.set_num_threads(self._threads_before)
            self._threads_before = None

    def _load(self):
        """The trainer, restored from the newest checkpoint when there is one."""
        if self._trainer is None:
            import torch

            from tony.core.checkpoints import load_checkpoint
            from tony.rl.train import Trainer

            # Small networks: one thread is fastest, and parallel runs do not fight over cores.
            self._threads_before = torch.get_num_threads()
            torch.set_num_threads(1)
            self._trainer = Trainer(self.spec)
            state = load_checkpoint(self.store, self.spec)
            if state is not None:
                self._trainer.load(state)
        return self._trainer


def ablation_specs(presets: Sequence[str], switches: Sequence[str] = (), seeds: Iterable[int] = (0, 1, 2), *,
                   env: str = "Hopper-v5", total_steps: int = 1_000_000, **hyper: Any) -> list[RLSpec]:
    """Each preset, and each preset with one of `switches` flipped, for every seed (a switch that does
    not apply, ratio_clipping for TRPO, is skipped)."""
    seeds = list(seeds)
    specs = []
    for name in presets:
        preset = get_preset(name)
        variants: list[dict[str, bool]] = [{}]
        variants += [{s: not preset.switches[s]} for s in switches
                     if not (s == "ratio_clipping" and preset.algo == "trpo")]
        for flips in variants:
            specs += [make_spec(name, env=env, total_steps=total_steps, seed=seed, switches=flips, **hyper)
                      for seed in seeds]
    return specs


def group_key(spec: dict[str, Any]) -> str:
    """What runs that differ only by seed share: the spec without its seed."""
    from tony.core.spec import canonical_json

    return canonical_json({k: v for k, v in spec.items() if k != "seed"})


def seed_summary(store: Store, runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per group of seeds: env, label, steps, seeds, and the final return and each diagnostic as the mean
    over seeds with a t interval (Stat with n = seeds)."""
    stats_by_run: dict[str, dict[str, dict[str, Any]]] = {}
    for row in store.stats([r["run_id"] for r in runs]):
        stats_by_run.setdefault(row["run_id"], {})[row["name"]] = row
    groups: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault(group_key(run["spec"]), []).append(run)
    out = []
    for members in groups.values():
        spec = members[0]["spec"]
        entry: dict[str, Any] = {"env": spec["env"], "label": RLSpec.model_construct(**spec).label(),
                                 "steps": spec["total_steps"], "seeds": sorted(m["spec"]["seed"] for m in members)}
        for name in ("final_return", *DIAGNOSTICS):
            values = [stats_by_run.get(m["run_id"], {}).get(name, {}).get("value") for m in members]
            entry[name] = spread_over_draws(name, [v for v in values if v is not None and math.isfinite(v)])
        out.append(entry)
    return sorted(out, key=lambda e: (e["env"], e["label"]))


def curve(records_by_seed: Sequence[Sequence[dict[str, Any]]], field: str) -> tuple[list[float], list[Stat]]:
    """Steps and, per iteration, `field` averaged over seeds with a t interval (NaN where no seed has it)."""
    length = min(len(rows) for rows in records_by_seed)
    steps, points = [], []
    for i in range(length):
        steps.append(float(records_by_seed[0][i]["steps"]))
        values = [rows[i].get(field) for rows in records_by_seed]
        finite = [float(v) for v in values if v is not None and math.isfinite(v)]
        points.append(spread_over_draws(field, finite) if finite else Stat(field, np.nan, np.nan, np.nan, 0))
    return steps, points
