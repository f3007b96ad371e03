"""Collecting one iteration's experience, and generalized advantage estimation.

A `Collector` owns the vector environment and the observation and reward filters. Each step it
samples actions from the policy (clipped to the action bounds only when sent to the environment),
records the filtered reward and, for an episode cut by the time limit (truncated, not terminated),
adds gamma V(final observation) to its last reward, so the advantage does not treat the time limit
as a terminal state. Episode returns are counted on the raw rewards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from tony.rl.envs import ObservationFilter, RewardFilter, env_state, make_envs, restore_env_state
from tony.rl.networks import GaussianPolicy, ValueNet
from tony.rl.spec import RLSpec


@dataclass
class Batch:
    """One iteration's experience, flattened over (step, environment)."""

    obs: torch.Tensor
    actions: torch.Tensor
    logprobs: torch.Tensor
    """log pi_old(a|s) when the action was sampled."""
    values: torch.Tensor
    """V_old(s) when the action was sampled."""
    advantages: torch.Tensor
    returns: torch.Tensor
    """advantages + values: the value network's regression targets."""


def standardize(x: torch.Tensor) -> torch.Tensor:
    """(x - mean) / (std + 1e-8): the advantage normalization."""
    return (x - x.mean()) / (x.std() + 1e-8)


def gae(rewards: np.ndarray, values: np.ndarray, dones: np.ndarray, next_value: np.ndarray, gamma: float,
        lam: float) -> np.ndarray:
    """Generalized advantage estimates (Schulman et al. 2016), arrays of shape (steps, envs):

        delta_t = r_t + gamma V(s_{t+1}) (1 - done_t) - V(s_t)
        A_t     = delta_t + gamma lam (1 - done_t) A_{t+1}

    dones[t] ends the episode at step t; `next_value` is V of the observation after the last step."""
    advantages = np.zeros_like(rewards)
    running = np.zeros_like(next_value)
    for t in reversed(range(len(rewards))):
        following = next_value if t == len(rewards) - 1 else values[t + 1]
        alive = 1.0 - dones[t]
        delta = rewards[t] + gamma * following * alive - values[t]
        running = delta + gamma * lam * alive * running
        advantages[t] = running
    return advantages


class Collector:
    """The environments, the observation and reward filters and the episodes in progress."""

    def __init__(self, spec: RLSpec) -> None:
        self.spec = spec
        self.envs = make_envs(spec.env, spec.num_envs)
        space = self.envs.single_action_space
        self.low, self.high = space.low.astype(np.float64), space.high.astype(np.float64)
        self.obs_filter = ObservationFilter(self.envs.single_observation_space.shape[0],
                                            normalize=spec.switches.obs_normalization,
                                            clip=spec.obs_clip if spec.switches.obs_clipping else None)
        self.reward_filter = RewardFilter(spec.num_envs, spec.gamma, scale=spec.switches.reward_scaling,
                                          clip=spec.reward_clip if spec.switches.reward_clipping else None)
        raw, _ = self.envs.reset(seed=spec.seed)
        self.obs = self.obs_filter(raw)
        self.episode_return = np.zeros(spec.num_envs)
        self.episode_length = np.zeros(spec.num_envs, dtype=np.int64)

    def collect(self, policy: GaussianPolicy, value: ValueNet, generator: torch.Generator
                ) -> tuple[Batch, list[float]]:
        """One iteration's batch and the raw returns of the episodes that ended in it."""
        spec, steps = self.spec, self.spec.steps_per_iteration // self.spec.num_envs
        shape = (steps, spec.num_envs)
        obs = np.zeros((*shape, self.obs.shape[1]), dtype=np.float32)
        actions = np.zeros((*shape, len(self.low)), dtype=np.float32)
        logprobs, values, rewards, dones = (np.zeros(shape) for _ in range(4))
        finished: list[float] = []
        for t in range(steps):
            with torch.no_grad():
                observed = torch.from_numpy(self.obs)
                action, logprob = policy.sample(observed, generator)
                values[t] = value(observed).numpy()
            obs[t], actions[t], logprobs[t] = self.obs, action.numpy(), logprob.numpy()
            raw, reward, terminated, truncated, infos = self.envs.step(np.clip(action.numpy(), self.low, self.high))
            self.episode_return += reward
            self.episode_length += 1
            done = terminated | truncated
            finished += [float(r) for r in self.episode_return[done]]
            self.episode_return[done], self.episode_length[done] = 0.0, 0
            rewards[t] = self.reward_filter(reward, done)
            cut = np.flatnonzero(truncated & ~terminated)
            if len(cut):
                final = self.obs_filter(np.stack([infos["final_obs"][i] for i in cut]), update=False)
                with torch.no_grad():
                    rewards[t, cut] += spec.gamma * value(torch.from_numpy(final)).numpy()
            dones[t] = done
            self.obs = self.obs_filter(raw)
        with torch.no_grad():
            next_value = value(torch.from_numpy(self.obs)).numpy()
        advantages = gae(rewards, values, dones, next_value, spec.gamma, spec.gae_lambda)

        def flat(x: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(x.reshape(steps * spec.num_envs, *x.shape[2:]), dtype=torch.float32)

        batch = Batch(flat(obs), flat(actions), flat(logprobs), flat(values), flat(advantages),
                      flat(advantages + values))
        return batch, finished

    def state(self) -> dict:
        """What a resumed run needs to continue these episodes exactly."""
        return {"obs": torch.from_numpy(self.obs.copy()), "obs_rms": self.obs_filter.rms.state(),
                "rewards": self.reward_filter.state(), "episode_return": self.episode_return.tolist(),
                "episode_length": self.episode_length.tolist(), "envs": env_state(self.envs)}

    def load(self, state: dict) -> None:
        self.obs = state["obs"].numpy().copy()
        self.obs_filter.rms.load(state["obs_rms"])
        self.reward_filter.load(state["rewards"])
        self.episode_return = np.asarray(state["episode_return"], dtype=np.float64)
        self.episode_length = np.asarray(state["episode_length"], dtype=np.int64)
        restore_env_state(self.envs, state["envs"])

    def close(self) -> None:
        self.envs.close()

