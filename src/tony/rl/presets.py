"""The named presets of the paper: an algorithm and its switches, and specs made from them.

Each preset is registered in the kernel's registry as kind "rl_preset" (its name and one-line
description are listed in `tony.catalog`), so an unknown name gets "did you mean" and a plugin can
add presets of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from tony.core.registry import registry
from tony.rl import defaults
from tony.rl.spec import OPTIMIZATIONS, RLSpec, Switches

PRESET_KIND = "rl_preset"
"""The registry kind of the presets."""


@dataclass(frozen=True)
class Preset:
    """An algorithm with its switches."""

    algo: Literal["ppo", "trpo"]
    """PPO or TRPO."""
    switches: Switches
    """Which switches it turns on."""


def _on(*names: str) -> Switches:
    return Switches(**dict.fromkeys(names, True))


# The paper's presets; their names and descriptions are in tony.catalog.
PPO = Preset("ppo", _on(*OPTIMIZATIONS, "ratio_clipping"))
PPO_M = Preset("ppo", _on("obs_normalization", "ratio_clipping"))
PPO_NOCLIP = Preset("ppo", _on(*OPTIMIZATIONS))
TRPO = Preset("trpo", _on("obs_normalization"))
TRPO_PLUS = Preset("trpo", _on(*OPTIMIZATIONS))


def get_preset(name: str) -> Preset:
    """The preset registered as `name`; an UnknownComponentError (with the closest name) otherwise."""
    return registry.get(PRESET_KIND, name)


def preset_descriptions() -> dict[str, str]:
    """Every registered preset's name with its one-line description."""
    return {entry.name: entry.description for entry in registry.entries(PRESET_KIND)}


def flip_variant(switches: Switches, preset: Preset) -> str:
    """The variant label of `switches` against `preset`: "+name" for a switch turned on, "-name" off."""
    ours, theirs = switches.model_dump(), preset.switches.model_dump()
    return " ".join(("+" if ours[n] else "-") + n for n in sorted(ours) if ours[n] != theirs[n])


def make_spec(preset: str, *, env: str = defaults.ENV, total_steps: int = defaults.TOTAL_STEPS, seed: int = 0,
              switches: dict[str, bool] | None = None, **hyper: Any) -> RLSpec:
    """The spec of `preset` with some switches set (`switches`) and hyperparameters overridden (`hyper`)."""
    chosen = get_preset(preset)
    resolved = Switches.parse({**chosen.switches.model_dump(), **(switches or {})})
    return RLSpec.parse({"algo": chosen.algo, "preset": preset, "variant": flip_variant(resolved, chosen),
                         "env": env, "total_steps": total_steps, "seed": seed, "switches": resolved, **hyper})
