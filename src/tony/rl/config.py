"""The training spec of one PPO or TRPO run: base hyperparameters, code-level switches, named presets.

The base configuration is the published one (Engstrom et al. 2020, "Implementation matters in deep
policy gradients"): 2,048 steps per iteration, gamma 0.99, GAE lambda 0.95, 10 epochs of 32
minibatches, ratio clip 0.2, Adam at 3e-4, separate 64-64 policy and value networks, a Gaussian
policy with a state-independent log standard deviation; TRPO with a KL bound of 0.01, 10
conjugate-gradient steps with damping 0.1 and a backtracking line search.

Each code-level optimization is one boolean in `switches`; a preset is a choice of algorithm and
switches. The spec holds every value resolved, so its key names exactly the work it describes.
"""

from __future__ import annotations

import difflib
import functools
import math
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, model_validator

from tony.core.errors import SpecError, UnknownComponentError
from tony.core.executors import RunnableSpec

SWITCHES: dict[str, str] = {
    "value_clipping": "clip the value loss around the old predictions (max of clipped and unclipped error)",
    "reward_scaling": "divide rewards by a running std of the discounted return (not centred)",
    "orthogonal_init": "orthogonal weights with layer gains (sqrt 2 hidden, 0.01 policy, 1 value) instead of Xavier",
    "lr_annealing": "anneal the Adam learning rate linearly to 0",
    "reward_clipping": "clip (scaled) rewards to [-reward_clip, reward_clip]",
    "obs_normalization": "normalize observations by their running mean and variance",
    "obs_clipping": "clip (normalized) observations to [-obs_clip, obs_clip]",
    "tanh_activations": "tanh hidden activations instead of ReLU",
    "grad_clipping": "clip the global gradient norm to max_grad_norm",
}
"""The code-level optimizations, each a switch, with what turning it on does."""
RATIO_CLIPPING = "ratio_clipping"
"""PPO's clipped surrogate objective itself (off: PPO-NoClip); TRPO has no ratio to clip."""
ALL_SWITCHES = (*SWITCHES, RATIO_CLIPPING)


@dataclass(frozen=True)
class Preset:
    """A named algorithm with its switches."""

    name: str
    algo: Literal["ppo", "trpo"]
    switches: dict[str, bool]
    description: str


def _switches(on: set[str]) -> dict[str, bool]:
    return {name: name in on for name in ALL_SWITCHES}


_OPTIMIZATIONS = set(SWITCHES)
PRESETS: dict[str, Preset] = {p.name: p for p in [
    Preset("PPO", "ppo", _switches(_OPTIMIZATIONS | {RATIO_CLIPPING}),
           "PPO with every code-level optimization, as published"),
    Preset("PPO-M", "ppo", _switches({"obs_normalization", RATIO_CLIPPING}),
           "minimal PPO: the clipped objective, optimizations off but observation normalization"),
    Preset("PPO-NoClip", "ppo", _switches(_OPTIMIZATIONS),
           "PPO with every optimization but without ratio clipping"),
    Preset("TRPO", "trpo", _switches({"obs_normalization"}),
           "TRPO: KL-constrained natural gradient step, optimizations off but observation normalization"),
    Preset("TRPO+", "trpo", _switches(_OPTIMIZATIONS), "TRPO with PPO's code-level optimizations"),
]}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise UnknownComponentError(f"unknown preset '{name}': choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


class RLSpec(RunnableSpec):
    """Everything that decides one training run (its key names its checkpoints and stored records)."""

    algo: Literal["ppo", "trpo"]
    preset: str = ""
    """The preset it came from, for labels ("" when written by hand)."""
    variant: str = ""
    """How it departs from the preset, e.g. "-value_clipping" ("" for none); for labels."""
    env: str = "Hopper-v5"
    """A Gymnasium environment id with a continuous (Box) action space."""
    total_steps: int = 1_000_000
    """Environment steps; training runs ceil(total_steps / steps_per_iteration) iterations."""
    seed: int = 0
    """Seeds the environments, the initial weights, the actions and the minibatches."""
    num_envs: int = 1
    """Environments stepped together (a Gymnasium SyncVectorEnv)."""
    steps_per_iteration: int = 2048
    """Environment steps per iteration, over all environments."""
    gamma: float = 0.99
    gae_lambda: float = 0.95
    epochs: int = 10
    """Passes over each iteration's batch (PPO; TRPO's value network)."""
    minibatches: int = 32
    lr: float = 3e-4
    """Adam's learning rate (PPO: both networks; TRPO: the value network)."""
    adam_eps: float = 1e-5
    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer widths of both networks."""
    init_log_std: float = 0.0
    clip_eps: float = 0.2
    """PPO's ratio clip epsilon (also the bounds of the reported fraction of ratios outside)."""
    value_clip_eps: float = 0.2
    vf_coef: float = 0.5
    """Weight of the value loss in PPO's combined loss."""
    ent_coef: float = 0.0
    normalize_advantages: bool = True
    """Standardize advantages per minibatch (PPO) or per batch (TRPO), as every reference implementation does."""
    reward_clip: float = 10.0
    obs_clip: float = 10.0
    max_grad_norm: float = 0.5
    max_kl: float = 0.01
    """TRPO's bound on the mean over states of KL(old policy || new policy), the KL of the whole action
    distribution (summed over the action's dimensions). sb3-contrib's `target_kl` bounds that KL averaged over
    the dimensions instead: its 0.01 is 0.01 x dims here (and its `cg_damping` is scaled the same way)."""
    cg_iters: int = 10
    cg_damping: float = 0.1
    line_search_steps: int = 10
    line_search_shrink: float = 0.5
    """The backtracking line search tries full step x shrink^k, k = 0 .. line_search_steps - 1."""
    switches: dict[str, bool] = Field(default_factory=dict)
    """Every switch of `ALL_SWITCHES`, on or off (missing ones are off)."""

    @model_validator(mode="before")
    @classmethod
    def _fill_switches(cls, data: Any) -> Any:
        if isinstance(data, dict):
            given = dict(data.get("switches") or {})
            unknown = sorted(set(given) - set(ALL_SWITCHES))
            if unknown:
                raise SpecError(f"unknown switch '{unknown[0]}': choose from {', '.join(ALL_SWITCHES)}")
            data = {**data, "switches": {name: bool(given.get(name, False)) for name in ALL_SWITCHES}}
        return data

    @model_validator(mode="after")
    def _check(self) -> RLSpec:
        check_env(self.env)
        if self.num_envs < 1 or self.steps_per_iteration % self.num_envs:
            raise SpecError(f"steps_per_iteration ({self.steps_per_iteration}) must be a multiple of num_envs "
                            f"({self.num_envs} >= 1)")
        if self.total_steps < self.steps_per_iteration:
            raise SpecError(f"total_steps ({self.total_steps}) must be at least one iteration "
                            f"({self.steps_per_iteration} steps)")
        if self.minibatches < 1 or self.steps_per_iteration % self.minibatches or self.epochs < 1:
            raise SpecError(f"need epochs >= 1 and minibatches >= 1 dividing steps_per_iteration "
                            f"({self.steps_per_iteration}), got {self.epochs} and {self.minibatches}")
        if not (self.lr > 0 and 0 < self.gamma <= 1 and 0 <= self.gae_lambda <= 1 and self.max_kl > 0):
            raise SpecError("need lr > 0, 0 < gamma <= 1, 0 <= gae_lambda <= 1 and max_kl > 0")
        if self.algo == "trpo" and self.switches[RATIO_CLIPPING]:
            raise SpecError("ratio_clipping is PPO's objective: TRPO has no ratio to clip (turn it off)")
        return self

    @property
    def iterations(self) -> int:
        return math.ceil(self.total_steps / self.steps_per_iteration)

    def on(self, switch: str) -> bool:
        """Whether `switch` is on."""
        return self.switches[switch]

    def label(self) -> str:
        """The preset and its departures, e.g. "PPO -value_clipping"."""
        return " ".join(p for p in (self.preset or self.algo.upper(), self.variant) if p)

    def task(self, store):
        from tony.rl.study import RLTask

        return RLTask(self, store)


def flip_variant(flips: dict[str, bool], preset: Preset) -> str:
    """The variant label of `flips` against `preset`: "+name" for a switch turned on, "-name" off."""
    changed = [(n, v) for n, v in sorted(flips.items()) if preset.switches.get(n) != v]
    return " ".join(("+" if v else "-") + n for n, v in changed)


def make_spec(preset: str, *, env: str = "Hopper-v5", total_steps: int = 1_000_000, seed: int = 0,
              switches: dict[str, bool] | None = None, **hyper: Any) -> RLSpec:
    """The spec of `preset` with some switches set (`switches`) and hyperparameters overridden (`hyper`)."""
    chosen = get_preset(preset)
    flips = dict(switches or {})
    unknown = sorted(set(flips) - set(ALL_SWITCHES))
    if unknown:
        raise SpecError(f"unknown switch '{unknown[0]}': choose from {', '.join(ALL_SWITCHES)}")
    return RLSpec.parse({"algo": chosen.algo, "preset": chosen.name, "variant": flip_variant(flips, chosen),
                         "env": env, "total_steps": total_steps, "seed": seed,
                         "switches": {**chosen.switches, **flips}, **hyper})


@functools.lru_cache(maxsize=64)
def check_env(env_id: str) -> tuple[int, int]:
    """(observation size, action size) of `env_id`; a TonyError when it is unknown or not continuous-control."""
    try:
        import gymnasium as gym
    except ImportError:
        raise SpecError("tony.rl needs gymnasium: pip install 'tony[rl]'") from None
    if env_id not in gym.envs.registry:
        close = difflib.get_close_matches(env_id, list(gym.envs.registry), n=3, cutoff=0.75)
        hint = f" (did you mean {', '.join(close[:3])}?)" if close else " (e.g. Hopper-v5, InvertedPendulum-v5)"
        raise UnknownComponentError(f"unknown environment '{env_id}'{hint}")
    try:
        env = gym.make(env_id)
    except Exception as err:  # noqa: BLE001 - a missing simulator (mujoco, box2d) is the user's to install
        raise SpecError(f"cannot create environment '{env_id}': {str(err).splitlines()[0]}") from None
    try:
        obs_space, act_space = env.observation_space, env.action_space
    finally:
        env.close()
    if not isinstance(act_space, gym.spaces.Box) or len(act_space.shape) != 1:
        raise SpecError(f"environment '{env_id}' has a {type(act_space).__name__} action space; the Gaussian "
                        "policy needs a continuous (Box) one: pick e.g. Hopper-v5 or InvertedPendulum-v5")
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        raise SpecError(f"environment '{env_id}' has {type(obs_space).__name__} observations; the MLP "
                        "networks need flat Box observations")
    return int(obs_space.shape[0]), int(act_space.shape[0])
