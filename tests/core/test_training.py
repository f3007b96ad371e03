"""The kernel's resumable training loop (tony.core.training) on a tiny model and a real store: it trains exactly
as a plain loop does, a resumed run ends bit-identical to an uninterrupted one, the history and checkpoints
follow their schedules, a finished run only loads, and a diverged run names its first bad step and stores
nothing."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import pytest

from tony.core.checkpoints import checkpoint_name, latest_checkpoint, load_checkpoint
from tony.core.errors import SpecError
from tony.core.spec import Spec
from tony.core.store import Store
from tony.core.training import ResumableTraining, TrainResult

torch = pytest.importorskip("torch", reason="training needs torch: pip install 'tony[icl]'")

BATCH = 8


class ToySpec(Spec):
    """A linear regression trained with SGD and momentum (optimizer state that must resume)."""

    steps: int = 10
    lr: float = 0.05
    seed: int = 0


def toy_model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Linear(3, 1)


def toy_batch(seed: int, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Step `step`'s batch, from a generator seeded by (seed, step)."""
    generator = torch.Generator().manual_seed(1000 * seed + step)
    x = torch.randn(BATCH, 3, generator=generator)
    return x, x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1 * torch.randn(BATCH, 1, generator=generator)


def toy_lr(spec: ToySpec, step: int) -> float:
    return spec.lr / (1 + 0.1 * step)


class ToyTraining(ResumableTraining):
    spec: ToySpec

    def __init__(self, spec: ToySpec, store: Store, *, log_every: int = 4, log_partial: bool = True) -> None:
        super().__init__(spec, store, total_steps=spec.steps, log_every=log_every, lr=spec.lr, label="toy")
        self.log_partial = log_partial

    def restore_model(self, state: dict[str, Any] | None) -> torch.nn.Module:
        model = toy_model(self.spec.seed)
        if state is not None:
            model.load_state_dict(state["model"])
        return model

    def make_optimizer(self, model: torch.nn.Module) -> torch.optim.Optimizer:
        return torch.optim.SGD(model.parameters(), lr=self.spec.lr, momentum=0.9)

    def lr_at(self, step: int) -> float:
        return toy_lr(self.spec, step)

    def loss(self, model: torch.nn.Module, step: int) -> torch.Tensor:
        x, y = toy_batch(self.spec.seed, step)
        return torch.nn.functional.mse_loss(model(x), y)

    def window_entry(self, losses: list[float], step: int, full: bool) -> dict[str, float] | None:
        return {"loss": sum(losses) / len(losses), "steps": len(losses)} if full or self.log_partial else None

    def examples_at(self, step: int) -> int:
        return BATCH

    def checkpoint_extras(self) -> dict[str, Any]:
        return {"note": "toy"}


def plain_loop(spec: ToySpec, steps: int) -> tuple[torch.nn.Module, torch.optim.Optimizer, list[float]]:
    """The same training written out by hand, with no checkpoints: the model, optimizer and per-step losses."""
    model = toy_model(spec.seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=0.9)
    losses = []
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = toy_lr(spec, step)
        x, y = toy_batch(spec.seed, step)
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return model, optimizer, losses


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_the_loop_trains_as_a_plain_loop_and_logs_each_window(store: Store) -> None:
    spec = ToySpec()
    result = ToyTraining(spec, store).run(checkpoint_every=3)
    model, optimizer, losses = plain_loop(spec, 10)
    assert same_weights(result.model, model) and not result.model.training
    assert (result.step, result.total_steps, result.resumed_from, result.device) == (10, 10, 0, "cpu")
    # Windows of 4 steps end at steps 4 and 8; the 2 steps before the stop at 10 are a partial window.
    expected = [(4, losses[0:4]), (8, losses[4:8]), (10, losses[8:10])]
    assert [(e["step"], e["steps"]) for e in result.history] == [(s, len(w)) for s, w in expected]
    for entry, (_, window) in zip(result.history, expected, strict=True):
        assert entry["loss"] == pytest.approx(sum(window) / len(window), rel=1e-6)
    assert result.losses == [(e["step"], e["loss"]) for e in result.history]
    assert result.examples_per_s * result.seconds == pytest.approx(10 * BATCH)
    state = load_checkpoint(store, spec)
    assert state["step"] == 10 and state["note"] == "toy" and state["history"] == result.history
    assert torch.equal(state["optimizer"]["state"][0]["momentum_buffer"],
                       optimizer.state_dict()["state"][0]["momentum_buffer"])
    assert result.checkpoint == latest_checkpoint(store, spec) and len(store.artifacts(checkpoint_name(spec))) == 1


@pytest.mark.parametrize(("stop_after", "every"), [(5, 3), (4, 4), (1, 100)])
def test_resumed_training_is_bit_identical_to_uninterrupted_training(tmp_path, stop_after: int, every: int) -> None:
    spec = ToySpec()
    straight = ToyTraining(spec, Store(str(tmp_path / "straight"))).run(checkpoint_every=every)
    store = Store(str(tmp_path / "stopped"))
    first = ToyTraining(spec, store).run(checkpoint_every=every, max_steps=stop_after)  # a kill after its checkpoint
    assert first.step == stop_after and load_checkpoint(store, spec)["step"] == stop_after
    assert not same_weights(first.model, straight.model)
    resumed = ToyTraining(spec, Store(str(tmp_path / "stopped"))).run(checkpoint_every=every)
    assert resumed.resumed_from == stop_after and resumed.step == 10
    assert same_weights(resumed.model, straight.model)
    a_state, b_state = load_checkpoint(Store(str(tmp_path / "straight")), spec), load_checkpoint(store, spec)
    assert torch.equal(a_state["optimizer"]["state"][0]["momentum_buffer"],
                       b_state["optimizer"]["state"][0]["momentum_buffer"])
    # The history goes on from the checkpoint's: full windows as they would have been, the one cut by the stop
    # in two parts.
    assert [e["step"] for e in resumed.history] == sorted({4, 8, 10, stop_after})


def test_a_finished_run_only_loads_and_restart_trains_again(store: Store) -> None:
    spec = ToySpec(steps=6)
    trained = ToyTraining(spec, store).run(checkpoint_every=2)
    again = ToyTraining(spec, store).run(checkpoint_every=2)
    assert (again.seconds, again.resumed_from, again.step, again.examples_per_s) == (0.0, 6, 6, 0.0)
    assert same_weights(again.model, trained.model) and again.history == trained.history
    assert again.checkpoint == trained.checkpoint
    fresh = ToyTraining(spec, store).run(checkpoint_every=2, restart=True)
    assert fresh.resumed_from == 0 and fresh.seconds > 0 and same_weights(fresh.model, trained.model)


def test_partial_windows_can_be_left_out_of_the_history(store: Store) -> None:
    result = ToyTraining(ToySpec(), store, log_partial=False).run(checkpoint_every=3)
    assert [e["step"] for e in result.history] == [4, 8]


def test_a_diverged_run_names_its_first_bad_step_and_stores_no_checkpoint(store: Store) -> None:
    spec = ToySpec(lr=1e20)
    _, _, losses = plain_loop(spec, 10)
    first_bad = next(i for i, v in enumerate(losses) if not math.isfinite(v)) + 1
    assert 1 < first_bad <= 4  # the first window: nothing may be stored before the check
    with pytest.raises(SpecError, match=rf"training loss became \S+ at step {first_bad}: lower lr \(now 1e\+20\)"):
        ToyTraining(spec, store).run(checkpoint_every=4)
    assert latest_checkpoint(store, spec) is None


def test_a_checkpoint_interval_below_one_is_a_spec_error(store: Store) -> None:
    with pytest.raises(SpecError, match="checkpoint_every must be at least 1, got 0"):
        ToyTraining(ToySpec(), store).run(checkpoint_every=0)


def test_a_result_reads_its_loss_curve_from_the_history() -> None:
    result = TrainResult(None, 8, 8, [{"step": 4, "loss": 2.0, "epoch": 1}, {"step": 8, "loss": 1.5, "epoch": 2}])
    assert result.losses == [(4, 2.0), (8, 1.5)]


def test_the_kernel_module_imports_no_torch() -> None:
    code = "import sys, tony.core.training; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
