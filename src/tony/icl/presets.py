"""Named training set-ups: two that train on a CPU in minutes, and the paper's four (GPU-sized).

The paper's (Garg et al. 2022, section 3): d = 20, the 12-layer, 8-head, 256-wide model,
500,000 steps of batch 64 at learning rate 1e-4; the curriculum grows the active dimensions
from 5 to 20 (+1 every 2,000 steps) and the points per prompt from 11 to 41 (+2 every 2,000
steps) for linear and sparse linear functions, from 26 to 101 (+5 every 2,000) for two-layer
ReLU networks and decision trees.
"""

from __future__ import annotations

from dataclasses import dataclass

from tony.core.registry import registry
from tony.icl.curriculum import Curriculum
from tony.icl.train import ICLTrainSpec


@dataclass(frozen=True)
class Preset:
    """A training spec and how `tony icl eval` evaluates it by default (registered as an "icl_preset")."""

    name: str
    """What `tony icl train` calls it."""
    description: str
    """What it trains and what it costs, for `tony icl presets`."""
    train: ICLTrainSpec
    n_prompts: int = 1280
    """Prompts per evaluation."""
    checkpoint_every: int = 1000
    """Training steps between checkpoints."""


def _paper_curriculum(points_start: int, points_end: int, points_increment: int) -> Curriculum:
    return Curriculum(dims_start=5, dims_end=20, dims_increment=1, dims_interval=2000,
                      points_start=points_start, points_end=points_end, points_increment=points_increment,
                      points_interval=2000)


def _paper(function_class: str, curriculum: Curriculum, **function_args: int) -> ICLTrainSpec:
    return ICLTrainSpec(function_class=function_class, function_args=function_args, dims=20,
                        model_size="standard", steps=500_000, batch_size=64, lr=1e-4, curriculum=curriculum)


CPU_LINEAR = Preset(
    "cpu-linear",
    "linear functions, d=5, tiny model, 20k steps of batch 32: within 0.05 of least squares from k=2d on; 8 to 13 "
    "min on one CPU core",
    ICLTrainSpec(function_class="linear", dims=5, model_size="tiny", steps=20_000, batch_size=32, lr=1e-3,
                 curriculum=Curriculum(dims_start=2, dims_end=5, dims_interval=500, points_start=6, points_end=21,
                                       points_increment=3, points_interval=500)),
    n_prompts=1280, checkpoint_every=500)
CPU_SPARSE = Preset(
    "cpu-sparse",
    "sparse linear functions (1 of d=5 weights nonzero), small model, 40k steps of batch 32 with a cosine schedule: "
    "below least squares for every k < d; 50 to 80 min on one CPU core",
    ICLTrainSpec(function_class="sparse_linear", function_args={"sparsity": 1}, dims=5, model_size="small",
                 steps=40_000, batch_size=32, lr=5e-4, lr_schedule="cosine",
                 curriculum=Curriculum(dims_start=2, dims_end=5, dims_interval=500, points_start=6, points_end=11,
                                       points_increment=1, points_interval=500)),
    n_prompts=512, checkpoint_every=1000)
LINEAR = Preset("linear", "the paper's linear functions: d=20, standard model, 500k steps (GPU-sized)",
                _paper("linear", _paper_curriculum(11, 41, 2)))
SPARSE = Preset("sparse", "the paper's sparse linear functions (3 of 20 weights nonzero), 500k steps (GPU-sized)",
                _paper("sparse_linear", _paper_curriculum(11, 41, 2), sparsity=3))
RELU_2NN = Preset("relu_2nn", "the paper's two-layer ReLU networks (100 hidden units), 500k steps (GPU-sized)",
                  _paper("relu_2nn", _paper_curriculum(26, 101, 5), hidden=100))
DECISION_TREE = Preset("decision_tree", "the paper's depth-4 decision trees, 500k steps (GPU-sized)",
                       _paper("decision_tree", _paper_curriculum(26, 101, 5), depth=4))

PRESETS = registry.table("icl_preset")
"""Every preset by name (the registry's "icl_preset" kind)."""


def get_preset(name: str) -> Preset:
    """The preset called `name`; an unknown name raises the registry's error naming the closest."""
    return registry.get("icl_preset", name)
