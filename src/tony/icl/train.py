"""Training a transformer to learn a function class in context: the spec and the loop.

`ICLTrainSpec` names everything that decides the trained weights (function class, d, model size,
steps, batch size, learning rate and its schedule, curriculum, seed); its key names the checkpoints. `train` runs
Adam on the squared error averaged over every prefix of every prompt (the prediction at each x
position) through the kernel's resumable loop (`tony.core.training`): checkpoints every
`checkpoint_every` steps and at the end; killed and started again it continues from the last one. Each
step's batch is drawn from a generator seeded by (seed, step), so the data stream needs no saved state
and a resumed run matches an uninterrupted one.

Training runs on the CPU or a GPU (`device`): the device is not part of the spec, since it changes the weights
by rounding only, as the thread count does; checkpoints load on either, so a run may resume on another device.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field, model_validator

from tony.core.errors import SpecError
from tony.core.spec import Spec
from tony.core.store import Store
from tony.core.training import ResumableTraining, TrainResult
from tony.icl.curriculum import Curriculum
from tony.icl.functions import FunctionClass, get_function_class
from tony.icl.model import SIZES, ICLTransformer
from tony.icl.prompts import sample_prompts

CHECKPOINT_EVERY = 1000
"""Default steps between checkpoints."""
COSINE_FLOOR_DIVISOR = 50
"""The cosine schedule ends at lr divided by this."""
LOG_EVERY = 100
"""Steps averaged into one point of the stored loss history."""


class ICLTrainSpec(Spec):
    """Everything that decides a trained in-context learner."""

    function_class: str
    """linear, sparse_linear, noisy_linear, relu_2nn or decision_tree (`tony.icl.functions`)."""
    function_args: dict[str, int | float | bool] = Field(default_factory=dict)
    """The class's hyperparameters, e.g. {"sparsity": 3}; empty for its defaults."""
    dims: int = 20
    """Input dimension d of the model (inactive curriculum dimensions are zero)."""
    model_size: str = "standard"
    """tiny, small or standard (`tony.icl.model.SIZES`)."""
    steps: int = 500_000
    batch_size: int = 64
    lr: float = 1e-4
    """Adam's learning rate."""
    lr_schedule: Literal["constant", "cosine"] = "constant"
    """constant (the paper's), or cosine: from `lr` at step 0 down to lr / 50 at step `steps`."""
    curriculum: Curriculum
    seed: int = 0
    """Seeds the initial weights and every batch."""

    @model_validator(mode="after")
    def _check(self) -> ICLTrainSpec:
        self.functions()  # an unknown class or bad hyperparameters are reported now
        if self.model_size not in SIZES:
            raise SpecError(f"unknown model size '{self.model_size}': choose one of {', '.join(SIZES)}")
        if self.dims < 1 or self.curriculum.dims_end > self.dims:
            raise SpecError(f"the curriculum grows to {self.curriculum.dims_end} active dimensions but the "
                            f"model reads d={self.dims}: lower dims_end or raise dims")
        if self.steps < 1 or self.batch_size < 1 or not self.lr > 0:
            raise SpecError(f"training needs steps >= 1, batch_size >= 1 and lr > 0, got {self.steps}, "
                            f"{self.batch_size} and {self.lr}")
        return self

    @property
    def max_points(self) -> int:
        """The longest prompt the model is built for (its positions are twice this)."""
        return self.curriculum.points_end

    def functions(self) -> FunctionClass:
        """The function class the model learns."""
        return get_function_class(self.function_class, **self.function_args)

    def build_model(self) -> ICLTransformer:
        """The untrained model, initialised from `seed` (the global torch generator is left alone)."""
        with torch.random.fork_rng():
            torch.manual_seed(self.seed)
            return ICLTransformer(self.dims, self.max_points, self.model_size)

    def lr_at(self, step: int) -> float:
        """The learning rate of `step`; a function of the step alone, so a resumed run keeps the schedule."""
        if self.lr_schedule == "constant":
            return self.lr
        floor = self.lr / COSINE_FLOOR_DIVISOR
        return floor + (self.lr - floor) * 0.5 * (1 + math.cos(math.pi * step / self.steps))

    def describe(self) -> str:
        """A short label, e.g. "linear d=5 tiny 20000 steps"."""
        args = "".join(f" {k}={v}" for k, v in sorted(self.function_args.items()))
        return f"{self.function_class}{args} d={self.dims} {self.model_size} {self.steps} steps"


def training_device(name: str) -> torch.device:
    """The torch device `name` ("cpu", "cuda", "cuda:1", ...), or a SpecError that says what to use instead."""
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise SpecError(f"unknown device '{name}': use cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise SpecError(f"cannot train on device '{name}': use cpu, cuda or cuda:N")
    if device.type == "cuda" and not (torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()):
        raise SpecError(f"device '{name}' is not available here ({torch.cuda.device_count()} CUDA devices): "
                        "train with --device cpu")
    return device


def batch_at(spec: ICLTrainSpec, functions: FunctionClass, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The training batch of `step`: prompts from the curriculum's sizes, seeded by (seed, step)."""
    rng = np.random.default_rng([spec.seed, step])
    xs, ys = sample_prompts(functions, spec.batch_size, spec.curriculum.points_at(step), spec.dims,
                            active_dims=spec.curriculum.dims_at(step), rng=rng)
    return torch.from_numpy(xs), torch.from_numpy(ys)


class ICLTraining(ResumableTraining):
    """`ICLTrainSpec`'s steps in the kernel's resumable loop; its history logs the mean loss of every LOG_EVERY
    steps (and of the steps before a stop)."""

    spec: ICLTrainSpec

    def __init__(self, spec: ICLTrainSpec, store: Store, device: torch.device) -> None:
        super().__init__(spec, store, total_steps=spec.steps, log_every=LOG_EVERY, lr=spec.lr,
                         label=spec.describe(), device=str(device))
        self.target, self.functions = device, spec.functions()

    def restore_model(self, state: dict[str, Any] | None) -> ICLTransformer:
        model = self.spec.build_model()
        if state is not None:
            model.load_state_dict(state["model"])
        return model

    def make_optimizer(self, model: ICLTransformer) -> torch.optim.Optimizer:
        return torch.optim.Adam(model.to(self.target).parameters(), lr=self.spec.lr, fused=True)

    def lr_at(self, step: int) -> float:
        return self.spec.lr_at(step)

    def loss(self, model: ICLTransformer, step: int) -> torch.Tensor:
        xs, ys = (t.to(self.target) for t in batch_at(self.spec, self.functions, step))
        return torch.nn.functional.mse_loss(model(xs, ys), ys)

    def window_entry(self, losses: list[float], step: int, full: bool) -> dict[str, float]:
        return {"loss": float(np.mean(losses))}

    def examples_at(self, step: int) -> int:
        return self.spec.batch_size

    def read_history(self, state: dict[str, Any]) -> list[dict[str, float]]:
        if "history" in state:
            return list(state["history"])
        # Checkpoints written before the kernel's loop kept (step, mean loss) pairs as "losses".
        return [{"step": int(s), "loss": float(v)} for s, v in state["losses"]]


def train(spec: ICLTrainSpec, store: Store, *, checkpoint_every: int = CHECKPOINT_EVERY, restart: bool = False,
          max_steps: int | None = None, device: str = "cpu") -> TrainResult:
    """Train `spec` to its `steps` on `device`, continuing from its last checkpoint unless `restart`.

    `max_steps` stops after that many steps in this call (a checkpoint is written there); the
    result's `step` says how far training got. A corrupted checkpoint is a DataError that says how
    to recover; nothing is deleted unless `restart` is given.
    """
    return ICLTraining(spec, store, training_device(device)).run(checkpoint_every=checkpoint_every,
                                                                 restart=restart, max_steps=max_steps)


def trained_model(spec: ICLTrainSpec, store: Store, *, checkpoint_every: int = CHECKPOINT_EVERY) -> ICLTransformer:
    """The model trained by `spec` (on the CPU): loaded from its final checkpoint, trained (or resumed) first if
    needed."""
    return train(spec, store, checkpoint_every=checkpoint_every).model
