"""The ablation of Engstrom et al. (2020): PPO, PPO-M, TRPO, TRPO+ x seeds on Hopper-v5, final returns with intervals.

Claim checked: the PPO preset reaches a mean return of at least 1,000 at 300,000 steps over 3 seeds;
the table of final returns (mean over seeds, 95% t interval, n = seeds) says how the presets compare.
Runs go through tony's runner into a store under benchmarks/.work/ (each run checkpointed every 10
iterations), so a killed benchmark started again resumes where it stopped; the JSON is rewritten
after every finished run. Runs are ordered seed-major, so a partial result covers every preset.

    nohup nice -n 19 .venv/bin/python benchmarks/rl_ablation.py > benchmarks/.work/rl_ablation.log 2>&1 &
    .venv/bin/python benchmarks/rl_ablation.py --steps 20480 --seeds 1      # a quick look

Writes benchmarks/results/rl_ablation.json.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "rl_ablation.json"
STORE = Path(__file__).parent / ".work" / "rl-ablation"
PRESETS = ("PPO", "PPO-M", "TRPO", "TRPO+")
PPO_TARGET = 1000.0


def _stat(stat: Any) -> dict[str, Any]:
    def clean(v: float) -> float | None:
        return round(v, 2) if v is not None and math.isfinite(v) else None

    return {"mean": clean(stat.value), "ci_low": clean(stat.ci_low), "ci_high": clean(stat.ci_high), "n": stat.n}


def _write(store: str, specs: list, started: float, args: argparse.Namespace) -> dict[str, Any]:
    from tony.core.store import Store
    from tony.rl import api
    from tony.rl.study import curve

    keys = {s.key() for s in specs}
    rows = api.summary(store, run_ids=list(keys))
    opened = Store(store)
    runs = {r["run_id"]: r for r in opened.runs("complete") if r["run_id"] in keys}
    per_run = []
    for spec in specs:
        if spec.key() not in runs:
            continue
        stats = {s["name"]: s for s in opened.stats([spec.key()])}
        records = sorted(opened.records(spec.key()), key=lambda r: r["iteration"])
        per_run.append({"preset": spec.label(), "seed": spec.seed,
                        "final_return": round(stats["final_return"]["value"], 1),
                        "wall_s": round(runs[spec.key()]["wall_s"] or 0.0, 1),
                        "cpu_s": round(sum(r["cpu_s"] for r in records), 1)})
    curves = {}
    for row in rows:
        members = [s for s in specs if s.label() == row["label"] and s.key() in runs]
        steps, points = curve([sorted(opened.records(s.key()), key=lambda r: r["iteration"]) for s in members],
                              "recent_return")
        every = max(1, len(steps) // 15)
        curves[row["label"]] = [[int(x), _stat(p)] for x, p in list(zip(steps, points, strict=True))[::every]]
    table = [{"preset": r["label"], "seeds": r["seeds"], "final_return": _stat(r["final_return"]),
              **{k: _stat(r[k]) for k in ("kl", "max_ratio", "clip_fraction", "entropy")}} for r in rows]
    ppo = next((t for t in table if t["preset"] == "PPO"), None)
    result = {
        "claim": f"PPO mean final return >= {PPO_TARGET:g} at {args.steps} steps over {args.seeds} seeds on {args.env}",
        "holds": (None if ppo is None or ppo["final_return"]["n"] < args.seeds
                  else ppo["final_return"]["mean"] >= PPO_TARGET),
        "env": args.env, "steps": args.steps, "seeds": args.seeds,
        "final_return_definition": "mean raw return of episodes ending in the last 10 iterations (20,480 steps)",
        "table": table, "runs": per_run, "curves_recent_return": curves,
        "complete_runs": len(per_run), "planned_runs": len(specs), "elapsed_s": round(time.time() - started, 1),
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "command": f"nice -n 19 .venv/bin/python benchmarks/rl_ablation.py --steps {args.steps} --seeds {args.seeds}",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--env", default="Hopper-v5")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--store", default=str(STORE))
    args = parser.parse_args()

    from tony.rl import api

    started = time.time()
    specs = [api.make_spec(p, env=args.env, total_steps=args.steps, seed=seed)
             for seed in range(args.seeds) for p in PRESETS]
    print(f"{len(specs)} runs into {args.store}", flush=True)
    for result in api.ablate(specs, args.store, workers=args.workers):
        print(f"{time.strftime('%H:%M:%S')} {result.status} {result.labels} {result.wall_s:.0f}s "
              f"{result.error or ''}", flush=True)
        summary = _write(args.store, specs, started, args)
        for row in summary["table"]:
            print(f"  {row['preset']:<8} {row['final_return']}", flush=True)
    print(json.dumps(_write(args.store, specs, started, args)["table"], indent=1), flush=True)


if __name__ == "__main__":
    main()
