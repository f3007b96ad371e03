"""The run defaults, named once: `RLSpec`, `tony.rl.api` and `tony rl` all read them from here.

This module imports nothing, so the command line can show them in its help without loading the study.
The hyperparameters of an iteration (steps, epochs, minibatches, learning rate, ...) are `RLSpec`'s
field defaults; these are the choices around a run.
"""

ENV = "Hopper-v5"
"""The Gymnasium environment of a run that names none (the paper's MuJoCo hopper)."""
TOTAL_STEPS = 1_000_000
"""Environment steps of a run that names none (the paper's budget)."""
NUM_ENVS = 1
"""Environments stepped together in a run that names none."""
CHECKPOINT_EVERY = 10
"""Iterations between checkpoints (and record commits)."""
ABLATION_PRESETS = ("PPO", "PPO-M", "TRPO", "TRPO+")
"""The presets an ablation runs when none are named."""
SEEDS = 3
"""An ablation runs seeds 0 .. SEEDS - 1 per configuration unless told otherwise."""
