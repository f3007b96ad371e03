"""The RL study from Python; `tony rl ...` is a thin layer over these functions.

    from tony.rl import api
    specs = api.ablation_specs(["PPO", "PPO-M", "TRPO", "TRPO+"], seeds=[0, 1, 2], total_steps=300_000)
    for result in api.ablate(specs, workers=2):    # each run resumable; reruns reuse the store
        print(result.labels, result.status)
    for row in api.summary():                      # mean over seeds with t intervals
        print(row["label"], row["final_return"])
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from tony.core.errors import SpecError
from tony.core.runner import RunResult
from tony.core.store import Store
from tony.rl import defaults
from tony.rl.presets import Preset, get_preset, make_spec, preset_descriptions
from tony.rl.spec import RLSpec, Switches, check_switch_names
from tony.rl.study import ablation_specs, seed_summary
from tony.rl.task import KIND

__all__ = ["ablate", "ablation_specs", "make_spec", "parse_switches", "preset_descriptions", "presets", "summary",
           "switches", "train"]


def presets() -> dict[str, Preset]:
    """Every registered preset by name (`preset_descriptions` says what each is)."""
    return {name: get_preset(name) for name in preset_descriptions()}


def switches() -> dict[str, str]:
    """Every switch with what turning it on does."""
    return Switches.summaries()


def parse_switches(settings: Sequence[str]) -> dict[str, bool]:
    """["value_clipping=off", "tanh_activations=on", ...] as a mapping; a SpecError for anything else."""
    values = {"on": True, "off": False, "true": True, "false": False, "1": True, "0": False}
    out = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        check_switch_names([name])
        if value.lower() not in values:
            raise SpecError(f"switch setting '{setting}' must be NAME=on or NAME=off")
        out[name] = values[value.lower()]
    return out


def train(spec: RLSpec, store: str | None = None, *, checkpoint_every: int = defaults.CHECKPOINT_EVERY) -> RunResult:
    """Train one run through the kernel's runner (resuming its checkpoint; already complete, it only loads)."""
    return next(ablate([spec], store, checkpoint_every=checkpoint_every))


def ablate(specs: Sequence[RLSpec], store: str | None = None, *, workers: int = 1,
           checkpoint_every: int = defaults.CHECKPOINT_EVERY, executor: str = "local",
           ray_address: str | None = None) -> Iterator[RunResult]:
    """Run every spec, `workers` at a time in separate processes, or as Ray tasks (`executor="ray"`, on a local
    cluster of `workers` CPUs or the one at `ray_address`); yields each RunResult."""
    from tony.core.executors import run_specs

    if checkpoint_every < 1:
        raise SpecError(f"checkpoint_every must be at least 1, got {checkpoint_every}")
    yield from run_specs(list(specs), store, executor=executor, workers=workers, batch_size=checkpoint_every,
                         ray_address=ray_address)


def summary(store: str | None = None, run_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Complete RL runs grouped by everything but the seed: final return and diagnostics over seeds."""
    opened = Store(store)
    runs = [r for r in opened.runs("complete", kind=KIND) if run_ids is None or r["run_id"] in run_ids]
    return seed_summary(opened, runs)
