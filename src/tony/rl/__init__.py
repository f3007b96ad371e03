"""PPO and TRPO with each code-level optimization a switch, ablations over seeds, trust-region diagnostics.

Needs the `rl` extra (gymnasium with MuJoCo, torch). From Python: `tony.rl.api`; from the shell:
`tony rl train|ablate|presets|switches`.

Reading order: `ppo.py` (PPO's update, its math in the docstring, and the minibatch loop TRPO shares),
`trpo.py`, `train.py` (one iteration: collect, update, record), `rollout.py` (collection and GAE),
`spec.py` (the run's hyperparameters and its `Switches`), `presets.py` (the paper's presets, registered
as kind "rl_preset"), `defaults.py` (the run defaults, named once); then `envs.py` and `networks.py`
(where the other switches act), `diagnostics.py`, `task.py` (a run through the kernel's runner),
`study.py` (ablations and summaries over seeds) and `report.py` (the results site's page).
"""
