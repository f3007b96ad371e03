"""The paper's findings on the generated world: co-training a shape and a texture prior against self-training,
the ensemble and the single priors, with a spurious background in the labeled set (p = 0.9, 1.0) and without
(p = 0); and the shape bias of each prior on cue-conflict images.

For every p, over `--seeds` seeds, it runs the study (`tony.vision.priors.study`) with each method: single (edges
and bagnet, and for the first p also standard, for the shape-bias comparison), ensemble, self_train, co_train and,
with `--combined`, co_train_combined (edges + bagnet; the study's defaults but `--rounds` and `--steps`). Models are
shared through the store, so the single models are trained once for all methods. For each comparison it reports
the difference in test accuracy, per seed and as a mean with a t interval over seeds, and a paired bootstrap over
test images of the seed-averaged correctness.

    .venv/bin/python benchmarks/vision_priors.py                      # 3 seeds, p = 0.9, 1.0, 0, 2 rounds
    .venv/bin/python benchmarks/vision_priors.py --seeds 5 --rounds 3 --steps 250 --combined
    .venv/bin/python benchmarks/vision_priors.py --object-textures road+water+bricks+dots --object-tie 0.5

Writes benchmarks/results/vision_priors.json, or with --object-textures (each class's object textured, a genuine
texture cue in every set beside the spurious background) benchmarks/results/vision_priors_objects_q<Q>.json
(suffixed _w<W> and _r<R> where --width and --rounds differ from 8 and 2).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).parent / "results" / "vision_priors.json"
SHAPE, TEXTURE, STANDARD = "edges", "bagnet", "standard"
METHODS = ("single", "ensemble", "self_train", "co_train")


def per_seed_correct(store: Any, run_id: str) -> dict[str, np.ndarray]:
    """model -> [test images, seeds] bool, the final round's predictions."""
    records = [r for r in store.records(run_id) if r["set"] == "test"]
    records.sort(key=lambda r: r["item_id"])
    models = records[0]["predictions"]
    return {m: np.array([[seed[-1] == r["label"] for seed in r["predictions"][m]] for r in records]) for m in models}


def compare(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """a - b: per seed, mean with a t interval over seeds, and a paired bootstrap over test images."""
    from tony.core.stats import paired_bootstrap, spread_over_draws

    per_seed = a.mean(0) - b.mean(0)
    spread = spread_over_draws("difference", per_seed)
    diff, low, high, p = paired_bootstrap(a.mean(1), b.mean(1))
    return {"per_seed": per_seed.round(4).tolist(), "mean": spread.value, "seeds_ci": [spread.ci_low, spread.ci_high],
            "bootstrap_ci": [low, high], "bootstrap_p": p}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--spurious", type=float, nargs="+", default=[0.9, 1.0, 0.0])
    parser.add_argument("--rounds", type=int, default=2, help="co- and self-training rounds (the study's default: 3)")
    parser.add_argument("--steps", type=int, default=150, help="training steps per model (the study's default: 250)")
    parser.add_argument("--width", type=int, default=8, help="channels of each model (the study's default: 8)")
    parser.add_argument("--combined", action="store_true", help="also run co_train_combined")
    parser.add_argument("--object-textures", help="each class's object texture, joined by + (default: flat objects)")
    parser.add_argument("--object-tie", type=float, default=0.5, help="q, with --object-textures (default 0.5)")
    parser.add_argument("--store", default="/tmp/tony-priors-bench")
    args = parser.parse_args()
    objects = {"object_textures": args.object_textures.split("+"), "object_tie": args.object_tie} \
        if args.object_textures else {}
    wide = (f"_w{args.width}" if args.width != 8 else "") + (f"_r{args.rounds}" if args.rounds != 2 else "")
    results = RESULTS.with_name(f"vision_priors_objects_q{args.object_tie:g}{wide}.json") if objects else RESULTS

    from tony.core.store import Store
    from tony.vision.priors.study import PriorsStudySpec, run_study

    out: dict[str, Any] = {"seeds": args.seeds, "rounds": args.rounds, "steps": args.steps, "width": args.width,
                           **objects, "settings": {}}
    started = time.perf_counter()
    for p in args.spurious:
        runs: dict[str, dict[str, np.ndarray]] = {}
        stats: dict[str, dict[str, Any]] = {}
        for method in (*METHODS, *(("co_train_combined",) if args.combined else ())):
            priors = [SHAPE, TEXTURE, STANDARD] if method == "single" and p == args.spurious[0] else [SHAPE, TEXTURE]
            spec = PriorsStudySpec.parse({"setting": {"spurious": p, **objects}, "method": method, "priors": priors,
                                          "rounds": args.rounds,
                                          "train": {"steps": args.steps, "width": args.width},
                                          "seeds": args.seeds})
            t0 = time.perf_counter()
            result = run_study(spec, args.store)
            assert result.status == "complete", result.error
            print(f"p={p} {method}: {time.perf_counter() - t0:.0f} s", flush=True)
            runs[method] = per_seed_correct(Store(args.store), result.run_id)
            stats[method] = {f"{s.name}|{s.split}|{s.subgroup}": [s.value, s.ci_low, s.ci_high, s.n]
                             for s in result.stats}
        co = runs["co_train"]["ensemble"]
        comparisons = {
            "co_train vs self_train edges": compare(co, runs["self_train"][SHAPE]),
            "co_train vs self_train bagnet": compare(co, runs["self_train"][TEXTURE]),
            "co_train vs self_train ensemble": compare(co, runs["self_train"]["ensemble"]),
            "co_train vs ensemble": compare(co, runs["ensemble"]["ensemble"]),
            "co_train vs best single": compare(co, max((runs["single"][SHAPE], runs["single"][TEXTURE]),
                                                       key=lambda c: c.mean())),
        }
        if args.combined:
            comparisons["co_train_combined vs co_train"] = compare(runs["co_train_combined"]["combined"], co)
        accuracy = {f"{method}:{model}": {"mean": float(c.mean()), "per_seed": c.mean(0).round(4).tolist()}
                    for method, models in runs.items() for model, c in models.items()}
        out["settings"][str(p)] = {"accuracy": accuracy, "comparisons": comparisons, "stats": stats}
        print(json.dumps({"p": p, "accuracy": {k: round(v["mean"], 3) for k, v in accuracy.items()},
                          "comparisons": {k: [round(v["mean"], 3), *np.round(v["seeds_ci"], 3).tolist()]
                                          for k, v in comparisons.items()}}, indent=1), flush=True)
    out["wall_s"] = time.perf_counter() - started
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(out, indent=1))
    print(f"wrote {results} ({out['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
