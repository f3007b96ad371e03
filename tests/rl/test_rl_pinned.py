"""Tiny seeded runs of every preset, pinned to the numbers the code gave before `Switches`, the shared minibatch
loop and `diagnostics` were split out: the restructure changed no number.

Each run is three iterations of 256 steps (10 epochs of 4 minibatches, 16-16 networks), one torch thread. The
pins were bit-identical before and after on the machine that made them; the relative tolerance of 1e-6 leaves
room for float32 kernels rounding differently on another CPU, far below what a changed update would move.
"""

from __future__ import annotations

import pytest
import torch

from tony.rl import api
from tony.rl.train import Trainer

TINY = {"steps_per_iteration": 256, "minibatches": 4, "epochs": 10, "hidden": (16, 16), "total_steps": 768}
RUNS = {
    "PPO": ("Hopper-v5", 4, {"num_envs": 2}),
    "PPO-NoClip": ("Hopper-v5", 2, {}),
    "PPO-M": ("InvertedPendulum-v5", 0, {}),
    "TRPO+": ("Hopper-v5", 5, {}),
    "TRPO": ("InvertedPendulum-v5", 1, {}),
}
"""Preset -> (environment, seed, other settings)."""
PINNED = {
    "PPO": {"episodes": 42, "episode_sum": 580.143,
            "mean_returns": [11.686250127173498, 13.800281081640076, 16.731755252934086],
            "last": {"clip_fraction": 0.0, "entropy": 4.242036819458008, "kl": 0.00011181495210621506, "lr": 0.0001,
                     "max_ratio": 1.0564688444137573, "mean_return": 16.731755252934086,
                     "recent_return": 17.554286663750073, "value_loss": 1.2593156427145005}},
    "PPO-NoClip": {"episodes": 39, "episode_sum": 580.362,
                   "mean_returns": [11.956061627782434, 14.195065860305402, 19.03658038545129],
                   "last": {"clip_fraction": 0.0, "entropy": 4.237131595611572, "kl": 0.00026272900868207216,
                            "lr": 0.0001, "max_ratio": 1.0876564979553223, "mean_return": 19.03658038545129,
                            "recent_return": 15.937306492028904, "value_loss": 0.9539953365921974}},
    "PPO-M": {"episodes": 80, "episode_sum": 681.0, "mean_returns": [8.0, 9.5, 8.178571428571429],
              "last": {"clip_fraction": 0.0625, "entropy": 1.3962477445602417, "kl": 0.004498070105910301,
                       "lr": 0.0003, "max_ratio": 1.371544599533081, "mean_return": 8.178571428571429,
                       "recent_return": 7.2, "value_loss": 28.670732736587524}},
    "TRPO+": {"episodes": 36, "episode_sum": 582.386,
              "mean_returns": [10.208689542836243, 14.072838111205998, 36.36041998597016],
              "last": {"clip_fraction": 0.10546875, "entropy": 4.202969074249268, "kl": 0.006763329729437828,
                       "lr": 0.0001, "max_ratio": 1.6313236951828003, "mean_return": 36.36041998597016,
                       "recent_return": 24.694046476652964, "step_fraction": 1.0, "value_loss": 3.636224848031998}},
    "TRPO": {"episodes": 91, "episode_sum": 676.0, "mean_returns": [5.564102564102564, 8.407407407407407, 9.28],
             "last": {"clip_fraction": 0.078125, "entropy": 1.3720331192016602, "kl": 0.006671330891549587,
                      "lr": 0.0003, "max_ratio": 1.5642504692077637, "mean_return": 9.28, "recent_return": 8.9,
                      "step_fraction": 1.0, "value_loss": 29.53175530433655}},
}
"""Per run: finished episodes, the sum of their (rounded) returns, each iteration's mean return, and the last
iteration's record without its episodes, counters and timing."""


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("preset", list(RUNS))
def test_a_tiny_run_gives_the_pinned_numbers(preset, one_thread):
    env, seed, extra = RUNS[preset]
    spec = api.make_spec(preset, env=env, seed=seed, **TINY, **extra)
    trainer = Trainer(spec)
    try:
        history = [trainer.step() for _ in range(spec.iterations)]
    finally:
        trainer.close()
    episodes = [r for record in history for r in record["episode_returns"]]
    last = {k: v for k, v in history[-1].items() if k not in ("episode_returns", "cpu_s", "iteration", "steps")}
    pinned = PINNED[preset]
    assert len(episodes) == pinned["episodes"]
    assert sum(episodes) == pytest.approx(pinned["episode_sum"], rel=1e-6)
    assert [record["mean_return"] for record in history] == pytest.approx(pinned["mean_returns"], rel=1e-6)
    assert last == pytest.approx(pinned["last"], rel=1e-6)
