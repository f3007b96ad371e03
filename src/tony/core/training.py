"""One resumable training loop for every domain that trains a model (ICL, vision, and the studies to come).

`ResumableTraining.run` trains a spec to its last step. It continues from the spec's latest checkpoint
(`tony.core.checkpoints`: model, optimizer, step and history restored), checkpoints every `checkpoint_every`
steps and at the step it stops at, and reads the losses back before every checkpoint, so a diverged model is
never stored. A resumed run's weights equal an uninterrupted run's because each step's randomness is a
function of the step alone (the domains seed each batch's generator by (seed, step)); the loop draws nothing.

A domain subclasses it with what is its own: the model (fresh, or as a checkpoint left it), the optimizer,
the learning rate and the loss of one step, and what a window of `log_every` steps adds to the history. The
model and optimizer are used through their methods (`state_dict`, `backward`, `step`), so this module
imports torch only where it reads the losses back.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tony.core.checkpoints import discard_checkpoints, latest_checkpoint, load_checkpoint, save_checkpoint
from tony.core.errors import SpecError
from tony.core.progress import progress_bar
from tony.core.spec import Spec
from tony.core.store import Store


@dataclass
class TrainResult:
    """A training run as one call left it: finished, or stopped early by `max_steps`."""

    model: Any
    """The trained model (a torch module), in eval mode, on the CPU."""
    step: int
    """Steps trained so far (`total_steps` once finished)."""
    total_steps: int
    """Steps the spec trains for."""
    history: list[dict[str, float]] = field(default_factory=list)
    """One entry per logged window of steps: the `step` it ends at, its mean `loss`, and what else the domain
    logs (vision: epoch, accuracy, lr)."""
    checkpoint: Path | None = None
    """The newest checkpoint's file (None when the call stored none and found none)."""
    resumed_from: int = 0
    """The step this call started from (0: a fresh start; `step` when it only loaded a finished run)."""
    seconds: float = 0.0
    """Time spent training in this call (0.0: already trained, only loaded)."""
    device: str = "cpu"
    """Where this call trained; the returned model is on the CPU either way."""
    examples_per_s: float = 0.0
    """Training examples processed per second in this call."""

    @property
    def losses(self) -> list[tuple[int, float]]:
        """The loss curve: (step, mean loss of the window ending there) per history entry."""
        return [(int(entry["step"]), float(entry["loss"])) for entry in self.history]


class ResumableTraining(ABC):
    """One spec's training, driven by `run`; a domain supplies the abstract methods (see the module docstring)."""

    def __init__(self, spec: Spec, store: Store, *, total_steps: int, log_every: int, lr: float, label: str,
                 device: str = "cpu") -> None:
        self.spec, self.store = spec, store
        self.total_steps = total_steps
        """Steps the spec trains for."""
        self.log_every = log_every
        """Steps in one window of the history (ICL: 100; vision: one epoch)."""
        self.lr = lr
        """The spec's learning rate, named in the error of a run whose loss diverged."""
        self.label = label
        """What the progress bar calls the run, e.g. the spec's `describe()`."""
        self.device = device
        """Where the steps run (the model and batches are moved there by the domain)."""

    @abstractmethod
    def restore_model(self, state: dict[str, Any] | None) -> Any:
        """The model: built from the spec, with the checkpoint's weights when `state` is not None (check there
        that the checkpoint fits, e.g. was made from the same data)."""

    @abstractmethod
    def make_optimizer(self, model: Any) -> Any:
        """The optimizer of `model`, once the model is on the training device (move it there first)."""

    @abstractmethod
    def lr_at(self, step: int) -> float:
        """The learning rate of step `step` (0-based): a function of the step, so a resumed run keeps the schedule."""

    @abstractmethod
    def loss(self, model: Any, step: int) -> Any:
        """The loss of step `step`'s batch, a 0-d tensor with its graph; the batch is a function of the step."""

    @abstractmethod
    def window_entry(self, losses: list[float], step: int, full: bool) -> dict[str, float] | None:
        """What the window of steps ending at `step` adds to the history (with its mean `loss`), given each
        step's loss; `full` is False for a window cut short where training stops. None adds nothing."""

    @abstractmethod
    def examples_at(self, step: int) -> int:
        """How many training examples step `step`'s batch holds."""

    def checkpoint_extras(self) -> dict[str, Any]:
        """What a checkpoint holds beside step, model, optimizer and history (e.g. a fingerprint of the data)."""
        return {}

    def read_history(self, state: dict[str, Any]) -> list[dict[str, float]]:
        """The history stored in a checkpoint (a domain converts older layouts here)."""
        return list(state["history"])

    def run(self, *, checkpoint_every: int, restart: bool = False, max_steps: int | None = None) -> TrainResult:
        """Train to `total_steps`, continuing from the spec's latest checkpoint unless `restart` (which discards
        them); already trained, only load. `max_steps` stops after that many steps in this call, with a
        checkpoint there. A corrupted checkpoint is a DataError that says how to recover; nothing is deleted
        unless `restart` is given."""
        if checkpoint_every < 1:
            raise SpecError(f"checkpoint_every must be at least 1, got {checkpoint_every}")
        if restart:
            discard_checkpoints(self.store, self.spec)
        state = load_checkpoint(self.store, self.spec)
        model = self.restore_model(state)
        step, history = (0, []) if state is None else (int(state["step"]), self.read_history(state))
        if step >= self.total_steps:
            return TrainResult(model.eval(), step, self.total_steps, history,
                               latest_checkpoint(self.store, self.spec), step)
        optimizer = self.make_optimizer(model)
        if state is not None:
            optimizer.load_state_dict(state["optimizer"])  # its moments move to the parameters' device
        start, started, checkpoint = step, time.perf_counter(), None
        stop = self.total_steps if max_steps is None else min(self.total_steps, step + max_steps)
        window: list[Any] = []
        losses: list[float] = []
        model.train()
        with progress_bar(self.total_steps, f"train {self.label}", initial=step, unit="step") as bar:
            while step < stop:
                for group in optimizer.param_groups:
                    group["lr"] = self.lr_at(step)
                loss = self.loss(model, step)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                window.append(loss.detach())  # read back at window ends and checkpoints only: a GPU need not wait
                full, save = step % self.log_every == 0, step % checkpoint_every == 0 or step == stop
                if full or save:
                    losses = self._finite_losses(window, step)
                if full or step == stop:
                    entry = self.window_entry(losses, step, full)
                    if entry is not None:
                        history.append({"step": step, **entry})
                        bar.set_description(f"train {self.label} loss {entry['loss']:.4f}", refresh=False)
                    window = []
                if save:
                    checkpoint = save_checkpoint(self.store, self.spec, {
                        "step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "history": history, **self.checkpoint_extras()})
                bar.update(1)
        seconds = time.perf_counter() - started
        examples = sum(self.examples_at(s) for s in range(start, step))
        return TrainResult(model.cpu().eval(), step, self.total_steps, history, checkpoint, start, seconds,
                           self.device, examples / seconds if seconds > 0 else 0.0)

    def _finite_losses(self, window: list[Any], step: int) -> list[float]:
        """The losses of the window's steps up to `step`, or a SpecError naming the first step whose loss is not
        finite (called before every checkpoint, so a diverged model is never stored)."""
        import torch

        values = torch.stack(window).tolist()
        for offset, value in enumerate(values):
            if not math.isfinite(value):
                raise SpecError(f"training loss became {value} at step {step - len(values) + offset + 1}: "
                                f"lower lr (now {self.lr})")
        return values
