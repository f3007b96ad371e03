"""Tiny end-to-end runs: learning, TRPO's trust region, and resuming a killed run exactly."""

from __future__ import annotations

import pytest

from tony.core.checkpoints import load_checkpoint
from tony.core.runner import execute
from tony.core.store import Store
from tony.rl import api
from tony.rl.task import RLTask
from tony.rl.train import Trainer

TINY = {"steps_per_iteration": 256, "minibatches": 4, "epochs": 2, "hidden": (16, 16)}
"""Hyperparameters of the tiny runs (the published ones are 2,048 steps, 32 minibatches, 10 epochs, 64-64)."""


def _without_timing(records):
    return [{k: v for k, v in r.items() if k != "cpu_s"} for r in records]


def test_ppo_improves_on_inverted_pendulum():
    # Eight iterations: annealing would leave the later ones a tiny learning rate, so it is off here.
    spec = api.make_spec("PPO", env="InvertedPendulum-v5", total_steps=4096, seed=0,
                         switches={"lr_annealing": False},
                         **{**TINY, "steps_per_iteration": 512, "minibatches": 8, "epochs": 10})
    trainer = Trainer(spec)
    try:
        history = [trainer.step() for _ in range(spec.iterations)]
    finally:
        trainer.close()
    assert [h["steps"] for h in history] == [512 * i for i in range(1, 9)]
    first, last = history[0]["mean_return"], history[-1]["mean_return"]
    assert last > 2 * first  # an untrained pendulum falls within ~10 steps
    for h in history:
        assert h["kl"] >= 0 and h["max_ratio"] >= 1 and 0 <= h["clip_fraction"] <= 1


def test_trpo_steps_stay_within_the_kl_bound():
    spec = api.make_spec("TRPO", env="InvertedPendulum-v5", total_steps=768, seed=1, **TINY)
    trainer = Trainer(spec)
    try:
        history = [trainer.step() for _ in range(spec.iterations)]
    finally:
        trainer.close()
    assert all(h["kl"] <= spec.max_kl for h in history)
    assert any(h["step_fraction"] > 0 for h in history)


class _KilledTask(RLTask):
    """Dies (as a kill would) when asked for iteration 3, after iterations 1 and 2 were committed."""

    def process(self, item_ids):
        if "iter-00003" in item_ids:
            raise RuntimeError("killed")
        return super().process(item_ids)


@pytest.mark.parametrize("preset", ["PPO", "TRPO+"])
def test_killed_and_resumed_run_equals_a_straight_run(tmp_path, preset):
    spec = api.make_spec(preset, env="Hopper-v5", total_steps=1280, seed=3, **TINY)
    straight = Store(str(tmp_path / "straight"))
    assert execute(spec.task(straight), straight, batch_size=1).status == "complete"

    resumed = Store(str(tmp_path / "resumed"))
    assert execute(_KilledTask(spec, resumed), resumed, batch_size=1).status == "failed"
    assert load_checkpoint(resumed, spec)["iteration"] == 2
    result = execute(spec.task(resumed), resumed, batch_size=1)
    assert result.status == "complete"
    assert _without_timing(resumed.records(spec.key())) == _without_timing(straight.records(spec.key()))
    assert {s["name"]: s["value"] for s in resumed.stats()} == {s["name"]: s["value"] for s in straight.stats()}


def test_a_run_gives_back_torchs_thread_count(tmp_path):
    import torch

    default = torch.get_num_threads()
    torch.set_num_threads(2)  # the task runs on one thread, then must restore this
    try:
        spec, store = api.make_spec("PPO", env="InvertedPendulum-v5", total_steps=256, **TINY), Store(str(tmp_path))
        assert execute(spec.task(store), store, batch_size=1).status == "complete"
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(default)
