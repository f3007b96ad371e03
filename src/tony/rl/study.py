"""Ablation sweeps of presets x switches x seeds, and their summaries over seeds.

An ablation is a list of specs: for each preset, the preset itself and, per switch named, the
preset with that switch flipped; each with every seed. `seed_summary` averages runs that differ
only by seed: the mean over seeds with a t interval (n = seeds); `curve` does the same per iteration.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from tony.core.stats import Stat, spread_over_draws
from tony.core.store import Store
from tony.rl import defaults
from tony.rl.diagnostics import DIAGNOSTICS
from tony.rl.presets import get_preset, make_spec
from tony.rl.spec import RLSpec, check_switch_names


def ablation_specs(presets: Sequence[str] = defaults.ABLATION_PRESETS, switches: Sequence[str] = (),
                   seeds: Iterable[int] = range(defaults.SEEDS), *, env: str = defaults.ENV,
                   total_steps: int = defaults.TOTAL_STEPS, **hyper: Any) -> list[RLSpec]:
    """Each preset, and each preset with one of `switches` flipped, for every seed (a switch that does
    not apply, ratio_clipping for TRPO, is skipped)."""
    check_switch_names(switches)
    seeds = list(seeds)
    specs = []
    for name in presets:
        preset = get_preset(name)
        variants: list[dict[str, bool]] = [{}]
        variants += [{s: not getattr(preset.switches, s)} for s in switches
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
