"""Training throughput and return at equal steps: tony's PPO and TRPO against Stable-Baselines3 / sb3-contrib.

Same machine, same run, same hyperparameters on Hopper-v5 (one environment, 2,048 steps per
iteration, 32 minibatches of 64, 10 epochs for PPO and for TRPO's value network, Adam 3e-4 annealed
linearly, gamma 0.99, GAE 0.95, separate 64-64 tanh networks with orthogonal init, state-independent
log std starting at 0, observation normalization and clipping at 10, reward scaling and clipping at
10, truncated episodes bootstrapped):

- PPO: tony's PPO preset with value clipping off (SB3's clip_range_vf clips the prediction, not the
  max of clipped and unclipped losses, so neither side clips the value) against SB3's PPO with
  VecNormalize; ratio clip 0.2, global gradient-norm clip 0.5 on both.
- TRPO: tony's TRPO+ with value clipping and gradient clipping off (sb3-contrib's TRPO has neither)
  against sb3-contrib's TRPO with VecNormalize; KL bound 0.01, 10 CG steps, damping 0.1, line
  search halving the step up to 10 times. sb3-contrib's KL is averaged over the action's
  dimensions, so it gets target_kl and cg_damping divided by 3 on Hopper: the same step on the
  policy's KL (benchmarks/rl_sb3_equivalence.py found this).

Each (algorithm, seed) trains tony then SB3, each in a fresh spawned process, so both sides see the
same machine load; wall seconds and CPU seconds (the process's own) are reported, and environment
steps per second of each. The return at equal steps is the mean raw return of the episodes that
ended in the last quarter of the steps, per run, then the mean over seeds with a 95% t interval.

SB3 lives in its own virtual environment (about 3 minutes to make), so the project's stays free of it:

    python3 -m venv benchmarks/.work/rl-bench-venv
    benchmarks/.work/rl-bench-venv/bin/pip install torch==2.13.0
    benchmarks/.work/rl-bench-venv/bin/pip install -e '.[rl,rl-bench]'
    benchmarks/.work/rl-bench-venv/bin/python benchmarks/rl_throughput.py    # 40,960 steps, seeds 0 and 1
    benchmarks/.work/rl-bench-venv/bin/python benchmarks/rl_throughput.py --steps 102400 --seeds 8  # 44 min

Writes benchmarks/results/rl_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "rl_throughput.json"
ENV = "Hopper-v5"
LR = 3e-4
MAX_KL = 0.01
"""TRPO's bound on the mean KL between successive policies (tony's default)."""
CG_DAMPING = 0.1


def tony_spec(algo: str, steps: int, seed: int):
    """tony's side of the comparison: the PPO preset, or TRPO+ without the clippings sb3-contrib lacks."""
    from tony.rl.presets import make_spec

    if algo == "ppo":
        return make_spec("PPO", env=ENV, total_steps=steps, seed=seed, switches={"value_clipping": False})
    return make_spec("TRPO+", env=ENV, total_steps=steps, seed=seed,
                     switches={"value_clipping": False, "grad_clipping": False})


def _tony(algo: str, steps: int, seed: int) -> dict[str, Any]:
    import torch

    from tony.rl.train import Trainer

    torch.set_num_threads(1)
    spec = tony_spec(algo, steps, seed)
    wall, cpu = time.perf_counter(), time.process_time()
    trainer = Trainer(spec)
    ended = []
    for _ in range(spec.iterations):
        record = trainer.step()
        ended += [(record["steps"], r) for r in record["episode_returns"]]
    trainer.close()
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
            "steps": spec.iterations * spec.steps_per_iteration, "episodes": ended}


def sb3_model(algo: str, seed: int):
    """SB3's PPO or sb3-contrib's TRPO on one VecNormalize'd Hopper-v5, with tony's hyperparameters."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    env = VecNormalize(make_vec_env(ENV, n_envs=1, seed=seed), norm_obs=True, norm_reward=True, clip_obs=10.0,
                       clip_reward=10.0, gamma=0.99)
    policy_kwargs = {"net_arch": {"pi": [64, 64], "vf": [64, 64]}, "activation_fn": torch.nn.Tanh,
                     "ortho_init": True, "log_std_init": 0.0}
    common = {"learning_rate": lambda remaining: LR * remaining, "n_steps": 2048, "batch_size": 64, "gamma": 0.99,
              "gae_lambda": 0.95, "policy_kwargs": policy_kwargs, "seed": seed, "device": "cpu", "verbose": 0}
    if algo == "ppo":
        return PPO("MlpPolicy", env, n_epochs=10, clip_range=0.2, clip_range_vf=None, ent_coef=0.0, vf_coef=0.5,
                   max_grad_norm=0.5, **common)
    from sb3_contrib import TRPO

    # sb3-contrib's KL is the policy's KL averaged over the action's dimensions (its Gaussian KL is per
    # dimension and TRPO takes .mean() over the batch and the dimensions): its Fisher products are F / 3 on
    # Hopper and target_kl = 0.01 bounds the policy's KL at 0.03. Dividing the bound and the damping by the
    # dimensions gives tony's step exactly (benchmarks/rl_sb3_equivalence.py).
    act_dims = env.action_space.shape[0]
    return TRPO("MlpPolicy", env, n_critic_updates=10, cg_max_steps=10, cg_damping=CG_DAMPING / act_dims,
                line_search_shrinking_factor=0.5, line_search_max_iter=10, target_kl=MAX_KL / act_dims,
                normalize_advantage=True, **common)


def _sb3(algo: str, steps: int, seed: int) -> dict[str, Any]:
    import sb3_contrib  # noqa: F401 (imported before the clock starts, as tony's modules are)
    import stable_baselines3.common.env_util  # noqa: F401
    import torch

    torch.set_num_threads(1)
    wall, cpu = time.perf_counter(), time.process_time()
    model = sb3_model(algo, seed)
    env = model.get_env()
    model.learn(total_timesteps=steps)
    monitor = env.venv.envs[0]
    ends = [int(s) for s in __import__("numpy").cumsum(monitor.get_episode_lengths())]
    episodes = list(zip(ends, monitor.get_episode_rewards(), strict=True))
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu, "steps": model.num_timesteps,
            "episodes": episodes}


def _child(side: str, algo: str, steps: int, seed: int, queue) -> None:
    queue.put((_tony if side == "tony" else _sb3)(algo, steps, seed))


def _run(side: str, algo: str, steps: int, seed: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(side, algo, steps, seed, queue))
    process.start()
    result = queue.get()
    process.join()
    late = [r for s, r in result["episodes"] if s > 0.75 * steps]
    result["late_return"] = sum(late) / len(late) if late else None
    result["late_episodes"] = len(late)
    result["steps_per_s"] = result["steps"] / result["wall_s"]
    result["steps_per_cpu_s"] = result["steps"] / result["cpu_s"]
    del result["episodes"]
    return result


def _over_seeds(values: list[float]) -> dict[str, Any]:
    from tony.core.stats import spread_over_draws

    stat = spread_over_draws("x", values)
    return {"mean": round(stat.value, 1), "ci_low": round(stat.ci_low, 1), "ci_high": round(stat.ci_high, 1),
            "n": stat.n}


def _summary(runs: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    summary = {}
    for algo, sides in runs.items():
        row: dict[str, Any] = {}
        for side, results in sides.items():
            wall = sum(r["wall_s"] for r in results)
            cpu = sum(r["cpu_s"] for r in results)
            steps = sum(r["steps"] for r in results)
            late = [r["late_return"] for r in results if r["late_return"] is not None]
            row[side] = {"steps_per_s": round(steps / wall, 1), "steps_per_cpu_s": round(steps / cpu, 1),
                         "late_return": _over_seeds(late)}
        row["speedup_wall"] = round(row["tony"]["steps_per_s"] / row["sb3"]["steps_per_s"], 2)
        row["speedup_cpu"] = round(row["tony"]["steps_per_cpu_s"] / row["sb3"]["steps_per_cpu_s"], 2)
        summary[algo] = row
    return summary


def _combine(paths: list[Path], algos: list[str], out: Path) -> None:
    """Pool the runs of `algos` in several result files (same steps, different seeds) into one summary."""
    loaded = [json.loads(path.read_text()) for path in paths]
    if len({result["steps"] for result in loaded}) != 1:
        raise SystemExit("rl_throughput: --combine needs files of the same --steps")
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for result in loaded:
        for algo, sides in result["runs"].items():
            if algo not in algos:
                continue
            for side, results in sides.items():
                runs.setdefault(algo, {}).setdefault(side, []).extend(results)
    summary = _summary(runs)
    pooled = {key: value for key, value in loaded[0].items() if key != "seeds"}
    command = f"benchmarks/rl_throughput.py --combine {' '.join(map(str, paths))} --algos {' '.join(algos)}"
    out.write_text(json.dumps({**pooled, "summary": summary, "runs": runs, "combined_from": [p.name for p in paths],
                               "command": command}, indent=1))
    print(json.dumps(summary, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40_960)
    parser.add_argument("--seeds", type=int, default=2, help="how many seeds, from --first-seed on")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--algos", nargs="+", default=["ppo", "trpo"], choices=["ppo", "trpo"])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--combine", nargs="+", type=Path, metavar="RESULT_JSON",
                        help="only pool the runs of these result files into --out")
    args = parser.parse_args()
    if args.combine:
        _combine(args.combine, args.algos, args.out)
        return
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {a: {"tony": [], "sb3": []} for a in args.algos}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for algo in args.algos:
            for side in ("tony", "sb3"):
                result = {"seed": seed, **_run(side, algo, args.steps, seed)}
                runs[algo][side].append(result)
                print(f"{algo} {side} seed {seed}: {result['steps_per_s']:.0f} steps/s wall, "
                      f"{result['steps_per_cpu_s']:.0f} steps/CPU-s, late return {result['late_return']}",
                      flush=True)
    summary = _summary(runs)
    import sb3_contrib
    import stable_baselines3

    out = {"env": ENV, "steps": args.steps, "seeds": list(range(args.first_seed, args.first_seed + args.seeds)),
           "summary": summary, "runs": runs,
           "versions": {"stable_baselines3": stable_baselines3.__version__, "sb3_contrib": sb3_contrib.__version__},
           "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version(),
                       "note": "shared 2-core machine, run at nice 19: absolute rates depend on the load"},
           "command": f"nice -n 19 benchmarks/.work/rl-bench-venv/bin/python benchmarks/rl_throughput.py "
                      f"--steps {args.steps} --seeds {args.seeds} --first-seed {args.first_seed} "
                      f"--algos {' '.join(args.algos)} --out {args.out}"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
