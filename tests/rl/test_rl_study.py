"""Ablation sweeps: which runs a sweep makes, and the mean over seeds with its t interval."""

from __future__ import annotations

import math

import pytest

from tony.core.errors import SpecError
from tony.core.stats import Stat
from tony.rl.presets import get_preset, make_spec
from tony.rl.spec import OPTIMIZATIONS
from tony.rl.study import ablation_specs, curve


def test_ablation_is_presets_times_flips_times_seeds():
    specs = ablation_specs(["PPO", "TRPO"], ["value_clipping", "ratio_clipping"], seeds=[0, 1],
                           env="InvertedPendulum-v5", total_steps=4096)
    labels = sorted({s.label() for s in specs})
    # ratio_clipping does not apply to TRPO, so TRPO has one flip, PPO two.
    assert labels == ["PPO", "PPO -ratio_clipping", "PPO -value_clipping", "TRPO", "TRPO +value_clipping"]
    assert len(specs) == 5 * 2 and len({s.key() for s in specs}) == 10
    with pytest.raises(SpecError, match="unknown switch 'warp_drive'"):  # before any spec is made
        ablation_specs(["PPO"], ["warp_drive"], env="InvertedPendulum-v5", total_steps=4096)
    assert next(s for s in specs if s.label() == "TRPO +value_clipping").switches.value_clipping is True


def test_presets_follow_the_paper():
    assert get_preset("PPO").switches.turned_on() == [*OPTIMIZATIONS, "ratio_clipping"]
    assert get_preset("PPO-M").switches.turned_on() == ["obs_normalization", "ratio_clipping"]
    assert get_preset("PPO-NoClip").switches.turned_on() == list(OPTIMIZATIONS)
    assert get_preset("TRPO").switches.turned_on() == ["obs_normalization"]
    assert get_preset("TRPO+").switches.turned_on() == list(OPTIMIZATIONS)
    assert [get_preset(name).algo for name in ("PPO", "PPO-M", "PPO-NoClip", "TRPO", "TRPO+")] == \
        ["ppo", "ppo", "ppo", "trpo", "trpo"]


def test_spec_key_changes_with_a_switch_and_errors_are_spec_errors():
    base = make_spec("PPO", env="InvertedPendulum-v5", total_steps=4096)
    assert make_spec("PPO", env="InvertedPendulum-v5", total_steps=4096).key() == base.key()
    assert make_spec("PPO", env="InvertedPendulum-v5", total_steps=4096,
                     switches={"tanh_activations": False}).key() != base.key()
    with pytest.raises(SpecError):
        make_spec("PPO", env="InvertedPendulum-v5", total_steps=4096, minibatches=3)


def test_curve_is_the_mean_over_seeds_with_a_t_interval():
    seeds = [[{"steps": 10, "x": 1.0}, {"steps": 20, "x": 2.0}],
             [{"steps": 10, "x": 3.0}, {"steps": 20, "x": None}],
             [{"steps": 10, "x": 5.0}]]
    steps, points = curve(seeds, "x")
    assert steps == [10.0]  # only the iterations every seed has
    mean, sd = 3.0, 2.0
    half = 4.3027 * sd / math.sqrt(3)  # t(0.975, df=2)
    assert points[0] == Stat("x", mean, mean - half, mean + half, 3, split="draws")
