"""Are tony's PPO and TRPO the same algorithms as Stable-Baselines3's, step for step?

Seed statistics cannot tell a small difference of algorithm from chance at 8 seeds, so this script
removes the chance: it runs SB3 (PPO, or sb3-contrib's TRPO) on Hopper-v5 and, beside it, tony's
collector and update on the same numbers. tony starts from SB3's initial weights, replays SB3's
sampled actions in its own environment (reset with the same seed), and shuffles its minibatches with
the permutations SB3 drew; everything else (the environment, the observation and reward filters, the
truncation bootstrap, GAE, the losses, Adam, gradient clipping, the trust-region step) is tony's own
code. After each iteration it prints the largest differences between the two sides, in the
iteration's batch and in every network weight, beside a rounding floor: the same difference between
tony and a twin of tony whose weights started one float32 rounding step away.

Two modes. By default the sides run apart for all iterations (nothing is copied across after the
start), so differences compound, as rounding differences do in any two runs of a policy-gradient
method: the twin drifts too. With --resync every iteration starts tony (and the twin, one rounding
step off) from SB3's weights and Adam moments, so each row measures one iteration's update alone.

Two known differences are set aside. SB3's running statistics start from a prior (mean 0, variance
1, count 1e-4), tony's from the first sample; the prior is a documented choice (giving tony SB3's
prior changed nothing measurable at 8 seeds, benchmarks/README.md §15), so SB3's count starts at 0
here. sb3-contrib's conjugate gradient starts from a random point 1e-4 N(0, I), tony's from zero;
SB3's starts from zero here. (Setting these aside matters only for exactness: differences of
algorithm show as differences far above float rounding, as sb3-contrib's KL, averaged over the
action's dimensions, did before rl_throughput gave it target_kl / 3.)

    benchmarks/.work/rl-bench-venv/bin/python benchmarks/rl_sb3_equivalence.py --algo ppo --iterations 12
    benchmarks/.work/rl-bench-venv/bin/python benchmarks/rl_sb3_equivalence.py --algo ppo --iterations 50 --resync
    (and the same with --algo trpo)

(the virtual environment as in benchmarks/rl_throughput.py). Writes
benchmarks/results/rl_sb3_equivalence_<algo>[_resync].json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import torch
from rl_throughput import ENV, LR, sb3_model, tony_spec

from tony.rl.ppo import ppo_update
from tony.rl.train import Trainer
from tony.rl.trpo import trpo_update

RESULTS = Path(__file__).parent / "results"
TOTAL_STEPS = 102_400
"""SB3's learning-rate schedule is a function of the fraction of this total left."""

# SB3 parameter name -> tony parameter name.
WEIGHTS = {
    "log_std": "policy.log_std",
    "mlp_extractor.policy_net.0": "policy.mean.0", "mlp_extractor.policy_net.2": "policy.mean.2",
    "action_net": "policy.mean.4",
    "mlp_extractor.value_net.0": "value.net.0", "mlp_extractor.value_net.2": "value.net.2",
    "value_net": "value.net.4",
}


def _tony_name(sb3_name: str) -> str:
    for prefix, target in WEIGHTS.items():
        if sb3_name == prefix or sb3_name.startswith(prefix + "."):
            return target + sb3_name[len(prefix):]
    raise KeyError(sb3_name)


def _tony_params(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {**{f"policy.{k}": v for k, v in trainer.policy.named_parameters()},
            **{f"value.{k}": v for k, v in trainer.value.named_parameters()}}


class ReplayedActions:
    """Stands in for tony's policy in the collector: hands out SB3's sampled actions in order, with
    log-probabilities from tony's own policy."""

    def __init__(self, policy, actions: np.ndarray) -> None:
        self.policy, self.actions, self.t = policy, actions, 0

    def sample(self, obs: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        action = torch.from_numpy(self.actions[self.t]).reshape(1, -1)
        self.t += 1
        return action, self.policy.distribution(obs).log_prob(action).sum(-1)


def _largest(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def _buffer(model) -> dict[str, np.ndarray]:
    """SB3's rollout buffer of one environment, flattened to (steps, ...)."""
    buffer = model.rollout_buffer
    return {name: getattr(buffer, name)[:, 0].copy() for name in
            ("observations", "actions", "rewards", "values", "log_probs", "advantages", "returns")}


def _permutations(state: tuple, count: int, size: int) -> list[torch.Tensor]:
    """The first `count` permutations of `size` that numpy's global generator draws from `state`."""
    after = np.random.get_state()
    np.random.set_state(state)
    drawn = [torch.from_numpy(np.random.permutation(size)) for _ in range(count)]
    np.random.set_state(after)
    return drawn


def _take_sb3_state(model, trainer: Trainer) -> None:
    """tony's networks and Adam moments become SB3's (at the start, and every iteration with --resync)."""
    tony, sb3_state = _tony_params(trainer), model.policy.optimizer.state
    with torch.no_grad():
        for name, param in model.policy.named_parameters():
            target = tony[_tony_name(name)]
            target.copy_(param)
            if param in sb3_state:  # SB3 keeps no moments before its first step, nor for TRPO's policy
                trainer.optimizer.state[target] = {k: v.clone() for k, v in sb3_state[param].items()}


def _update(algo: str, spec, policy, value, optimizer, batch, generator, permutations: list[torch.Tensor]) -> None:
    """tony's update, shuffling with `permutations` instead of its own generator."""
    update = ppo_update if algo == "ppo" else trpo_update
    with mock.patch.object(torch, "randperm", side_effect=list(permutations)):
        update(spec, policy, value, optimizer, batch, generator)


def _weights(trainer: Trainer) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in _tony_params(trainer).values()])


def _nudge(trainer: Trainer) -> None:
    """Move every weight by one float32 rounding step (the twin's only difference)."""
    with torch.no_grad():
        for param in _tony_params(trainer).values():
            param.copy_(torch.nextafter(param, torch.tensor(float("inf"))))


def compare(algo: str, iterations: int, seed: int, resync: bool) -> list[dict[str, Any]]:
    """Per iteration: the largest differences between tony and SB3 (batch and weights), and the rounding
    floor: the largest difference between tony and a twin of it whose weights started one float32
    rounding step away (at the start, or at each iteration's start with `resync`), on the same data."""
    from stable_baselines3.common.vec_env import VecNormalize

    torch.set_num_threads(1)
    model = sb3_model(algo, seed)
    env: VecNormalize = model.get_env()
    env.obs_rms.count = env.ret_rms.count = 0  # tony's rule: the statistics start from the first sample
    spec = tony_spec(algo, TOTAL_STEPS, seed)
    trainer, twin = Trainer(spec), Trainer(spec)
    total, callback = model._setup_learn(TOTAL_STEPS, callback=None, progress_bar=False)
    callback.on_training_start(locals(), globals())
    rows = []
    for iteration in range(1, iterations + 1):
        if resync or iteration == 1:
            for side in (trainer, twin):
                _take_sb3_state(model, side)
            _nudge(twin)
        model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=model.n_steps)
        model._update_current_progress_remaining(model.num_timesteps, total)
        sb3 = _buffer(model)
        batch, twin_batch = (side.collector.collect(ReplayedActions(side.policy, sb3["actions"]), side.value,
                                                    side.generator)[0] for side in (trainer, twin))
        row: dict[str, Any] = {"iteration": iteration, "batch": {
            "observations": _largest(batch.obs, sb3["observations"]),
            "log_probs": _largest(batch.logprobs, sb3["log_probs"]),
            "values": _largest(batch.values, sb3["values"]),
            "advantages": _largest(batch.advantages, sb3["advantages"]),
            "returns": _largest(batch.returns, sb3["returns"])}}

        numpy_state = np.random.get_state()
        with mock.patch.object(torch, "randn_like", side_effect=torch.zeros_like):  # CG from zero (above)
            model.train()
        row["lr"] = lr = model.policy.optimizer.param_groups[0]["lr"]
        # PPO draws one permutation per epoch; TRPO one for its full-batch policy step, then one per value epoch.
        permutations = _permutations(numpy_state, spec.epochs + (algo == "trpo"),
                                     spec.steps_per_iteration)[algo == "trpo":]
        for side, side_batch in ((trainer, batch), (twin, twin_batch)):
            for group in side.optimizer.param_groups:
                group["lr"] = lr
            _update(algo, spec, side.policy, side.value, side.optimizer, side_batch, side.generator, permutations)
        tony = _tony_params(trainer)
        row["weights"] = max(_largest(tony[_tony_name(n)].detach(), v.detach())
                             for n, v in model.policy.named_parameters())
        row["rounding_floor"] = _largest(_weights(twin), _weights(trainer))
        rows.append(row)
        print(f"{algo} iteration {iteration}: largest differences: batch "
              + ", ".join(f"{k} {v:.1e}" for k, v in row["batch"].items())
              + f"; weights {row['weights']:.1e} (rounding floor {row['rounding_floor']:.1e})", flush=True)
    for side in (trainer, twin):
        side.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", choices=["ppo", "trpo"], default="ppo")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resync", action="store_true",
                        help="start every iteration from SB3's weights and Adam moments, so differences don't compound")
    args = parser.parse_args()
    rows = compare(args.algo, args.iterations, args.seed, args.resync)
    RESULTS.mkdir(parents=True, exist_ok=True)
    mode = " --resync" if args.resync else ""
    out = {"env": ENV, "lr": LR, "algo": args.algo, "seed": args.seed, "resync": args.resync, "iterations": rows,
           "command": f"benchmarks/.work/rl-bench-venv/bin/python benchmarks/rl_sb3_equivalence.py "
                      f"--algo {args.algo} --iterations {args.iterations} --seed {args.seed}{mode}"}
    name = f"rl_sb3_equivalence_{args.algo}{'_resync' if args.resync else ''}.json"
    (RESULTS / name).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
