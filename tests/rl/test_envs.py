"""The observation and reward switches against their definitions, computed directly with numpy."""

from __future__ import annotations

import numpy as np
import pytest

from tony.rl.envs import EPS, ObservationFilter, RewardFilter, RunningMeanStd


def test_running_mean_std_equals_numpy_over_uneven_batches():
    rng = np.random.default_rng(0)
    data = rng.normal(3.0, 2.0, size=(1000, 5)) * np.arange(1, 6)
    rms = RunningMeanStd((5,))
    cuts = [0, 1, 7, 100, 101, 640, 1000]
    for start, stop in zip(cuts[:-1], cuts[1:], strict=True):
        rms.update(data[start:stop])
    assert rms.count == 1000
    np.testing.assert_allclose(rms.mean, data.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(rms.var, data.var(axis=0), rtol=1e-10)


def test_observation_normalization_uses_the_statistics_of_everything_seen():
    rng = np.random.default_rng(1)
    batches = [rng.normal(5.0, 3.0, size=(n, 4)) for n in (1, 3, 50)]
    obs_filter = ObservationFilter(4, normalize=True, clip=None)
    for i, batch in enumerate(batches):
        out = obs_filter(batch)
        seen = np.concatenate(batches[: i + 1])
        expected = (batch - seen.mean(axis=0)) / np.sqrt(seen.var(axis=0) + EPS)
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    frozen = obs_filter(batches[0], update=False)
    assert obs_filter.rms.count == 54
    np.testing.assert_allclose(frozen, (batches[0] - obs_filter.rms.mean) / np.sqrt(obs_filter.rms.var + EPS),
                               rtol=1e-5)


def test_observation_clipping_alone_clips_raw_observations():
    obs_filter = ObservationFilter(2, normalize=False, clip=10.0)
    out = obs_filter(np.array([[-25.0, 3.5], [11.0, -9.0]]))
    np.testing.assert_array_equal(out, np.array([[-10.0, 3.5], [10.0, -9.0]], dtype=np.float32))
    assert obs_filter.rms.count == 0  # normalization off: no statistics are kept


@pytest.mark.parametrize("gamma", [0.99, 0.9])
def test_reward_scaling_divides_by_the_std_of_the_discounted_return(gamma):
    rng = np.random.default_rng(2)
    steps, envs = 300, 3
    rewards = rng.normal(1.0, 2.0, size=(steps, envs))
    dones = rng.random((steps, envs)) < 0.05
    reward_filter = RewardFilter(envs, gamma, scale=True, clip=None)
    # The definition, directly: R_t = gamma R_{t-1} + r_t per env, R restarted after an episode's end;
    # the scaled reward is r_t / std(all R up to and including step t) (not centred: no mean subtracted).
    running, seen = np.zeros(envs), []
    for t in range(steps):
        running = gamma * running + rewards[t]
        seen.extend(running)
        scaled = reward_filter(rewards[t], dones[t])
        np.testing.assert_allclose(scaled, rewards[t] / np.sqrt(np.var(seen) + EPS), rtol=1e-9)
        running[dones[t]] = 0.0
    assert np.isclose(np.sqrt(reward_filter.rms.var), np.std(seen), rtol=1e-10)


def test_reward_clipping_bounds_scaled_rewards():
    reward_filter = RewardFilter(2, 0.99, scale=False, clip=1.0)
    np.testing.assert_array_equal(reward_filter(np.array([-3.0, 0.25]), np.array([False, False])), [-1.0, 0.25])
    both = RewardFilter(1, 0.99, scale=True, clip=0.5)
    out = [both(np.array([r]), np.array([False]))[0] for r in (1.0, 100.0, -100.0)]
    assert max(abs(v) for v in out) == 0.5
