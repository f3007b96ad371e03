"""Vectorized Gymnasium environments and the observation and reward switches, each a few lines.

- `RunningMeanStd`: mean and (population) variance of a stream, merged batch by batch with Chan et
  al.'s parallel update, so after any sequence of batches it equals numpy's mean and var of all of
  them.
- `ObservationFilter`: observation normalization ((x - mean) / sqrt(var + eps), with the running
  statistics updated by every observation seen) and observation clipping, each its own switch.
- `RewardFilter`: reward scaling (the reward divided by the running standard deviation of the
  discounted return R_t = gamma R_{t-1} + r_t, restarted at each episode's end; the reward is not
  centred) and reward clipping, each its own switch.

`env_state` / `restore_env_state` capture everything that decides an environment's next steps
(MuJoCo's full integration state, the random generator, wrapper counters), so a resumed training
run continues its episodes exactly where a straight run would be.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

EPS = 1e-8


class RunningMeanStd:
    """Running mean and population variance of vectors (or scalars), updated by batches."""

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = 0

    def update(self, batch: np.ndarray) -> None:
        """Merge the rows of `batch` (shape (n, *shape)) into the statistics."""
        batch = np.asarray(batch, dtype=np.float64)
        n = batch.shape[0]
        if n == 0:
            return
        batch_mean, batch_var = batch.mean(axis=0), batch.var(axis=0)
        if self.count == 0:
            self.mean, self.var, self.count = batch_mean, batch_var, n
            return
        total = self.count + n
        delta = batch_mean - self.mean
        # Chan et al.: merge the two groups' sums of squared deviations.
        m2 = self.var * self.count + batch_var * n + delta**2 * self.count * n / total
        self.mean = self.mean + delta * n / total
        self.var, self.count = m2 / total, total

    def state(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "var": self.var.tolist(), "count": self.count}

    def load(self, state: dict[str, Any]) -> None:
        self.mean = np.asarray(state["mean"], dtype=np.float64)
        self.var = np.asarray(state["var"], dtype=np.float64)
        self.count = int(state["count"])


class ObservationFilter:
    """Observation normalization and clipping (either, both or neither)."""

    def __init__(self, size: int, *, normalize: bool, clip: float | None) -> None:
        self.rms = RunningMeanStd((size,))
        self.normalize, self.clip = normalize, clip

    def __call__(self, obs: np.ndarray, *, update: bool = True) -> np.ndarray:
        """The filtered observations (n, size); `update` first merges them into the statistics."""
        obs = np.asarray(obs, dtype=np.float64)
        if self.normalize:
            if update:
                self.rms.update(obs)
            obs = (obs - self.rms.mean) / np.sqrt(self.rms.var + EPS)
        if self.clip is not None:
            obs = np.clip(obs, -self.clip, self.clip)
        return obs.astype(np.float32)


class RewardFilter:
    """Reward scaling by the running std of the discounted return, and reward clipping."""

    def __init__(self, num_envs: int, gamma: float, *, scale: bool, clip: float | None) -> None:
        self.rms = RunningMeanStd(())
        self.returns = np.zeros(num_envs, dtype=np.float64)
        """Each environment's discounted return so far in its episode."""
        self.gamma, self.scale, self.clip = gamma, scale, clip

    def __call__(self, rewards: np.ndarray, dones: np.ndarray) -> np.ndarray:
        """The filtered rewards of one vector step; `dones` (terminated or truncated) restart the returns."""
        rewards = np.asarray(rewards, dtype=np.float64)
        if self.scale:
            self.returns = self.returns * self.gamma + rewards
            self.rms.update(self.returns)
            rewards = rewards / np.sqrt(self.rms.var + EPS)
            self.returns[np.asarray(dones, dtype=bool)] = 0.0
        if self.clip is not None:
            rewards = np.clip(rewards, -self.clip, self.clip)
        return rewards

    def state(self) -> dict[str, Any]:
        return {"rms": self.rms.state(), "returns": self.returns.tolist()}

    def load(self, state: dict[str, Any]) -> None:
        self.rms.load(state["rms"])
        self.returns = np.asarray(state["returns"], dtype=np.float64)


def make_envs(env_id: str, num_envs: int):
    """A SyncVectorEnv of `num_envs` copies that resets an ended episode in the same step.

    (The final observation is then in infos["final_obs"], needed to bootstrap truncated episodes.)
    """
    import gymnasium as gym

    return gym.vector.SyncVectorEnv([lambda: gym.make(env_id) for _ in range(num_envs)],
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)


def env_state(envs) -> str:
    """Everything that decides the vector env's next steps, as JSON (exact floats and big integers)."""
    return json.dumps([_one_env_state(env) for env in envs.envs])


def restore_env_state(envs, state: str) -> None:
    """Put `envs` back into the state `env_state` captured."""
    for env, saved in zip(envs.envs, json.loads(state), strict=True):
        _restore_one(env, saved)


def _wrappers(env) -> list[Any]:
    chain = [env]
    while hasattr(chain[-1], "env"):
        chain.append(chain[-1].env)
    return chain


def _plain(obj: Any) -> dict[str, Any]:
    """The attributes of `obj` that are plain numbers, flags or arrays (counters, simulator variables)."""
    out: dict[str, Any] = {}
    for name, value in vars(obj).items():
        if isinstance(value, bool | int | float | str) or value is None:
            out[name] = value
        elif isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
            out[name] = {"array": value.tolist(), "dtype": str(value.dtype)}
    return out


def _one_env_state(env) -> dict[str, Any]:
    unwrapped = env.unwrapped
    state: dict[str, Any] = {"layers": [_plain(layer) for layer in _wrappers(env)],
                             "np_random": unwrapped.np_random.bit_generator.state}
    if hasattr(unwrapped, "model") and hasattr(unwrapped, "data"):
        import mujoco

        # MuJoCo's integration state: all an exact continuation of mj_step needs (incl. warm starts).
        kind = mujoco.mjtState.mjSTATE_INTEGRATION
        values = np.empty(mujoco.mj_stateSize(unwrapped.model, kind))
        mujoco.mj_getState(unwrapped.model, unwrapped.data, values, kind)
        state["mujoco"] = values.tolist()
    return state


def _restore_one(env, saved: dict[str, Any]) -> None:
    for layer, attrs in zip(_wrappers(env), saved["layers"], strict=True):
        for name, value in attrs.items():
            if isinstance(value, dict) and "array" in value:
                value = np.asarray(value["array"], dtype=value["dtype"])
            setattr(layer, name, value)
    unwrapped = env.unwrapped
    unwrapped.np_random.bit_generator.state = saved["np_random"]
    if "mujoco" in saved:
        import mujoco

        kind = mujoco.mjtState.mjSTATE_INTEGRATION
        mujoco.mj_setState(unwrapped.model, unwrapped.data, np.asarray(saved["mujoco"]), kind)
        mujoco.mj_forward(unwrapped.model, unwrapped.data)
