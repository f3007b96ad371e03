"""The CPU presets' claims: training time on this machine, and the trained model against least squares.

- cpu-linear: trains in at most 15 minutes on 2 cores and has a normalized squared error within 0.05 of least
  squares at every k >= 2d in-context examples;
- cpu-sparse: below least squares at every 1 <= k < d (the transformer exploits the sparsity, least squares
  cannot until k = d).

Each preset trains in a fresh store (or `--store` to reuse one, then the time is the remaining training's), is
evaluated on the standard distribution with the preset's prompts, and its curve is written next to least
squares' (and Lasso's, for sparse functions), with 90% bootstrap intervals.

    .venv/bin/python benchmarks/icl_presets.py                       # both presets side by side, 50 to 80 min
    .venv/bin/python benchmarks/icl_presets.py --presets cpu-linear

Writes benchmarks/results/icl_presets.json (each preset's entry is replaced as it finishes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "icl_presets.json"
LINEAR_MARGIN = 0.05


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _claim(preset: str, dims: int, curves: dict[str, dict[int, Any]]) -> dict[str, Any]:
    """Whether the preset's claim holds, and the worst position for it."""
    model, least_squares = curves[""], curves["baseline:least_squares"]
    if preset == "cpu-linear":
        gaps = {k: model[k].value - least_squares[k].value for k in model if k >= 2 * dims}
        worst = max(gaps, key=gaps.__getitem__)
        return {"claim": f"error within {LINEAR_MARGIN} of least squares for every k >= 2d",
                "holds": gaps[worst] <= LINEAR_MARGIN, "worst_k": worst, "worst_gap": gaps[worst]}
    gaps = {k: least_squares[k].value - model[k].value for k in model if 1 <= k < dims}
    worst = min(gaps, key=gaps.__getitem__)
    return {"claim": "error below least squares for every 1 <= k < d",
            "holds": gaps[worst] > 0, "worst_k": worst, "worst_margin": gaps[worst]}


def measure(preset_name: str, store: str) -> dict[str, Any]:
    from tony.icl import api
    from tony.icl.presets import get_preset

    preset = get_preset(preset_name)
    spec = preset.train
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    result = api.train(spec, store)
    train_wall, train_cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    started = time.perf_counter()
    [run] = list(api.evaluate(api.eval_specs(spec, ["standard"]), store))
    eval_wall = time.perf_counter() - started
    if run.status != "complete":
        raise SystemExit(f"evaluation of {preset_name} failed: {run.error}")
    curves = api.curves(run.stats)
    return {
        "preset": preset_name, "spec": spec.describe(), "steps": spec.steps,
        "train_wall_s": round(train_wall, 1), "train_cpu_s": round(train_cpu, 1),
        "final_train_loss": result.losses[-1][1] if result.losses else None,
        "eval_wall_s": round(eval_wall, 1), "n_prompts": preset.n_prompts,
        "curves": {split or "transformer": {k: [round(s.value, 4), round(s.ci_low, 4), round(s.ci_high, 4)]
                                            for k, s in by_k.items()}
                   for split, by_k in curves.items()},
        **_claim(preset_name, spec.dims, curves),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["cpu-linear", "cpu-sparse"])
    parser.add_argument("--store", help="store to train in (default: a fresh temporary one per preset)")
    args = parser.parse_args()
    for name in args.presets:
        with tempfile.TemporaryDirectory() as fresh:
            entry = measure(name, args.store or fresh)
        # read just before writing: another preset's run may have written its entry meanwhile
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"presets": {}}
        results["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform()}
        results["presets"][name] = entry
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
        verdict = "holds" if entry["holds"] else "DOES NOT HOLD"
        print(f"{name}: trained in {entry['train_wall_s']:.0f} s wall ({entry['train_cpu_s']:.0f} s CPU); "
              f"{entry['claim']}: {verdict} (worst k = {entry['worst_k']})")


if __name__ == "__main__":
    main()
