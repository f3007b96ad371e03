"""The spec of one PPO or TRPO run: its hyperparameters and its code-level switches.

The base configuration is the published one (Engstrom et al. 2020, "Implementation matters in deep
policy gradients"): 2,048 steps per iteration, gamma 0.99, GAE lambda 0.95, 10 epochs of 32
minibatches, ratio clip 0.2, Adam at 3e-4, separate 64-64 policy and value networks, a Gaussian
policy with a state-independent log standard deviation; TRPO with a KL bound of 0.01, 10
conjugate-gradient steps with damping 0.1 and a backtracking line search.

Each code-level optimization is one field of `Switches`; a preset (`tony.rl.presets`) is a choice
of algorithm and switches. The spec holds every value resolved, so its key names exactly the work
it describes.
"""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from tony.core.errors import SpecError, UnknownComponentError
from tony.core.spec import RunnableSpec, Spec
from tony.rl import defaults


class Switches(Spec):
    """The nine code-level optimizations of Engstrom et al. (2020), in the paper's order, and PPO's ratio
    clipping; each is off unless turned on. A field's first docstring line says what turning it on does."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    value_clipping: bool = False
    """clip the value loss around the old predictions (max of clipped and unclipped error)

    The paper's value function clipping, by value_clip_eps, for PPO's and TRPO's value network (`ppo.value_loss`)."""
    reward_scaling: bool = False
    """divide rewards by a running std of the discounted return (not centred)

    The paper's reward scaling (`envs.RewardFilter`)."""
    orthogonal_init: bool = False
    """orthogonal weights with layer gains (sqrt 2 hidden, 0.01 policy, 1 value) instead of Xavier

    The paper's orthogonal initialization and layer scaling (`networks.init_layer`)."""
    lr_annealing: bool = False
    """anneal the Adam learning rate linearly to 0

    The paper's Adam learning-rate annealing, over the run's iterations (`train.Trainer.step`)."""
    reward_clipping: bool = False
    """clip (scaled) rewards to [-reward_clip, reward_clip]

    The paper's reward clipping (`envs.RewardFilter`)."""
    obs_normalization: bool = False
    """normalize observations by their running mean and variance

    The paper's observation normalization (`envs.ObservationFilter`)."""
    obs_clipping: bool = False
    """clip (normalized) observations to [-obs_clip, obs_clip]

    The paper's observation clipping (`envs.ObservationFilter`)."""
    tanh_activations: bool = False
    """tanh hidden activations instead of ReLU

    The paper's hyperbolic-tan activations, in both networks (`networks.mlp`)."""
    grad_clipping: bool = False
    """clip the global gradient norm to max_grad_norm

    The paper's global gradient clipping, in every Adam step (`ppo.minibatch_steps`)."""
    ratio_clipping: bool = False
    """PPO's clipped surrogate (off: the plain ratio objective, PPO-NoClip)

    Not a code-level optimization but PPO's objective itself (`ppo.ppo_update`); TRPO has no ratio to clip."""

    @model_validator(mode="before")
    @classmethod
    def _known_names(cls, data: Any) -> Any:
        if isinstance(data, dict):
            check_switch_names(data)
        return data

    @classmethod
    def summaries(cls) -> dict[str, str]:
        """Each switch with the first line of its docstring: what turning it on does."""
        return {name: (field.description or "").splitlines()[0] for name, field in cls.model_fields.items()}

    def turned_on(self) -> list[str]:
        """The switches turned on, in the paper's order."""
        return [name for name, value in self.model_dump().items() if value]


SWITCH_NAMES = tuple(Switches.model_fields)
"""Every switch, in the paper's order with ratio_clipping last."""
OPTIMIZATIONS = tuple(name for name in SWITCH_NAMES if name != "ratio_clipping")
"""The nine code-level optimizations: every switch but PPO's objective."""


def check_switch_names(names: Iterable[str]) -> None:
    """A SpecError naming the first of `names` that is not a switch (with the closest one)."""
    unknown = sorted(set(names) - set(SWITCH_NAMES))
    if unknown:
        close = difflib.get_close_matches(unknown[0], SWITCH_NAMES, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise SpecError(f"unknown switch '{unknown[0]}': {hint}choose from {', '.join(SWITCH_NAMES)}")


class RLSpec(RunnableSpec):
    """Everything that decides one training run (its key names its checkpoints and stored records)."""

    algo: Literal["ppo", "trpo"]
    """PPO (`tony.rl.ppo`) or TRPO (`tony.rl.trpo`)."""
    preset: str = ""
    """The preset it came from, for labels ("" when written by hand)."""
    variant: str = ""
    """How it departs from the preset, e.g. "-value_clipping" ("" for none); for labels."""
    env: str = defaults.ENV
    """A Gymnasium environment id with a continuous (Box) action space."""
    total_steps: int = defaults.TOTAL_STEPS
    """Environment steps; training runs ceil(total_steps / steps_per_iteration) iterations."""
    seed: int = 0
    """Seeds the environments, the initial weights, the actions and the minibatches."""
    num_envs: int = defaults.NUM_ENVS
    """Environments stepped together (a Gymnasium SyncVectorEnv)."""
    steps_per_iteration: int = 2048
    """Environment steps per iteration, over all environments."""
    gamma: float = 0.99
    """The discount factor."""
    gae_lambda: float = 0.95
    """GAE's lambda: 0 is the one-step TD error, 1 the discounted return minus the value."""
    epochs: int = 10
    """Passes over each iteration's batch (PPO; TRPO's value network)."""
    minibatches: int = 32
    """Minibatches per pass (each of steps_per_iteration / minibatches samples)."""
    lr: float = 3e-4
    """Adam's learning rate (PPO: both networks; TRPO: the value network)."""
    adam_eps: float = 1e-5
    """Adam's epsilon."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer widths of both networks."""
    init_log_std: float = 0.0
    """The policy's log standard deviation before training."""
    clip_eps: float = 0.2
    """PPO's ratio clip epsilon (also the bounds of the reported fraction of ratios outside)."""
    value_clip_eps: float = 0.2
    """How far value_clipping lets a prediction move from the old one before its error stops counting."""
    vf_coef: float = 0.5
    """Weight of the value loss in PPO's combined loss."""
    ent_coef: float = 0.0
    """Weight of the policy's entropy bonus in PPO's combined loss."""
    normalize_advantages: bool = True
    """Standardize advantages per minibatch (PPO) or per batch (TRPO), as every reference implementation does."""
    reward_clip: float = 10.0
    """The bound of reward_clipping."""
    obs_clip: float = 10.0
    """The bound of obs_clipping."""
    max_grad_norm: float = 0.5
    """The bound of grad_clipping."""
    max_kl: float = 0.01
    """TRPO's bound on the mean over states of KL(old policy || new policy), the KL of the whole action
    distribution (summed over the action's dimensions). sb3-contrib's `target_kl` bounds that KL averaged over
    the dimensions instead: its 0.01 is 0.01 x dims here (and its `cg_damping` is scaled the same way)."""
    cg_iters: int = 10
    """TRPO's conjugate-gradient steps."""
    cg_damping: float = 0.1
    """Added to TRPO's Fisher matrix times the vector, for a well-conditioned solve."""
    line_search_steps: int = 10
    """Step sizes TRPO's backtracking line search tries."""
    line_search_shrink: float = 0.5
    """The backtracking line search tries full step x shrink^k, k = 0 .. line_search_steps - 1."""
    switches: Switches = Field(default_factory=Switches)
    """The code-level optimizations and PPO's ratio clipping, each on or off (missing ones are off)."""

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
        if self.algo == "trpo" and self.switches.ratio_clipping:
            raise SpecError("ratio_clipping is PPO's objective: TRPO has no ratio to clip (turn it off)")
        return self

    @property
    def iterations(self) -> int:
        return math.ceil(self.total_steps / self.steps_per_iteration)

    def label(self) -> str:
        """The preset and its departures, e.g. "PPO -value_clipping"."""
        return " ".join(p for p in (self.preset or self.algo.upper(), self.variant) if p)

    def task(self, store):
        from tony.rl.task import RLTask

        return RLTask(self, store)


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
