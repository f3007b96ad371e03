"""Poisoning and backdoor claims of `tony.vision.poisoning`, one claim per subcommand; each prints a markdown table
and writes benchmarks/results/vision_poisoning_<claim>.json.

- ``badnets``: BadNets (10%, 3x3 checker patch, all-to-one) against a victim trained from scratch, every defense,
  over seeds: C-Acc against the clean model, ASR, each defense's C-Acc / ASR / DER, spectral signatures' TPR
  (the BadNets target and the BackdoorBench ordering table; run with --dataset fashion-mnist and world);
- ``fraction``: ASR against the poison fraction for BadNets and the clean-label backdoor, undefended;
- ``targeted``: feature collision (last layer retrained on a frozen pretrained network) and gradient matching
  (from scratch): success on the named targets over seeds, and the crafting time;
- ``default``: the wall time of `tony poison run` from its defaults.

Each run goes through the study (victims are checkpoints in --store, so claims sharing a victim train it once).
torch uses --threads threads per process (default 1: on a machine shared with other work two OpenMP threads
that wait for each other are many times slower than one).

    nice -n 10 .venv/bin/python benchmarks/vision_poisoning.py badnets --dataset fashion-mnist --seeds 3
    nice -n 10 .venv/bin/python benchmarks/vision_poisoning.py badnets --dataset world --seeds 3
    nice -n 10 .venv/bin/python benchmarks/vision_poisoning.py fraction --dataset fashion-mnist
    nice -n 10 .venv/bin/python benchmarks/vision_poisoning.py targeted --seeds 5
    nice -n 10 .venv/bin/python benchmarks/vision_poisoning.py default
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
FASHION = {"dataset": "fashion-mnist", "train_images": 10000, "clean_images": 500, "test_images": 2000}
FASHION_TRAIN = {"model": "vgg7", "width": 8, "epochs": 10}
"""The "small CNN" of the BadNets target: VGG-7 at width 8 (2.7x faster per step than resnet8 here)."""
BACKDOORBENCH = {"none": 0.95, "spectral": 0.92, "activation_clustering": 0.86, "fine_pruning": 0.57}
"""BadNets ASR on CIFAR-10 (PreAct-ResNet18, 10%) in BackdoorBench's table, per defense."""


def base(dataset: str) -> dict[str, Any]:
    if dataset == "fashion-mnist":
        return {"data": FASHION, "train": FASHION_TRAIN}
    return {}


def run(specs: list[Any], store: str) -> tuple[list[dict[str, Any]], float]:
    from tony.core.executors import run_local
    from tony.vision.poisoning.grid import summarize

    started, results = time.perf_counter(), []
    for result in run_local(specs, store, batch_size=500):
        if result.status != "complete":
            raise SystemExit(f"run {result.run_id[:12]} failed: {result.error}")
        results.append((result.labels, result.stats))
    return summarize(results), time.perf_counter() - started


def cell(row: dict[str, Any], name: str) -> str:
    stat = row.get(name)
    return "" if stat is None else f"{stat['value']:.3f} [{stat['ci_low']:.3f}, {stat['ci_high']:.3f}]"


def badnets(args: argparse.Namespace) -> dict[str, Any]:
    from tony.vision.poisoning.grid import grid_specs

    specs = grid_specs(base(args.dataset), ["badnets"], [0.1], range(args.seeds))
    rows, seconds = run(specs, args.store)
    print("| variant | C-Acc | ASR | R-Acc | DER | filter TPR | filter FPR | BackdoorBench CIFAR-10 ASR |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['variant']} | {cell(row, 'c_acc')} | {cell(row, 'asr')} | {cell(row, 'r_acc')} | "
              f"{cell(row, 'der')} | {cell(row, 'filter_tpr')} | {cell(row, 'filter_fpr')} | "
              f"{BACKDOORBENCH.get(row['variant'], '')} |")
    return {"rows": rows, "seconds": seconds}


def fraction(args: argparse.Namespace) -> dict[str, Any]:
    from tony.vision.poisoning.grid import grid_specs

    fractions = [0.005, 0.01, 0.02, 0.05, 0.09]
    fields = {**base(args.dataset), "defenses": [], "clean_baseline": False}
    specs = grid_specs(fields, ["badnets", "clean_label"], fractions, range(args.seeds))
    rows, seconds = run(specs, args.store)
    print("| attack | " + " | ".join(f"{f:g}" for f in fractions) + " |")
    print("|---|" + "---|" * len(fractions))
    for attack in ("badnets", "clean_label"):
        by_fraction = {r["fraction"]: r for r in rows if r["attack"] == attack}
        print(f"| {attack} | " + " | ".join(cell(by_fraction[f], "asr") for f in fractions) + " |")
    return {"rows": rows, "seconds": seconds}


def targeted(args: argparse.Namespace) -> dict[str, Any]:
    from tony.vision.poisoning.grid import grid_specs

    fields = {**base(args.dataset), "defenses": []}
    out = {}
    for attack, budget in (("feature_collision", 0.01), ("gradient_matching", 0.01)):
        specs = grid_specs(fields, [attack], [budget], range(args.seeds))
        rows, seconds = run(specs, args.store)
        out[attack] = {"rows": rows, "seconds": seconds}
        for row in rows:
            print(f"| {attack} | {budget:g} | {row['variant']} | {cell(row, 'target_success')} | {cell(row, 'c_acc')} "
                  f"| {seconds:.0f} s for {args.seeds} seeds |")
    return out


def default(args: argparse.Namespace) -> dict[str, Any]:
    store = Path(args.store) / f"default-{int(time.time())}"
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "tony"), "poison", "run", "--store", str(store)],
                          check=True, capture_output=True, text=True, env={**os.environ, "TONY_PROGRESS": "0"})
    seconds = time.perf_counter() - started
    print(done.stdout)
    print(f"`tony poison run` from its defaults: {seconds:.0f} s wall")
    return {"seconds": seconds, "table": done.stdout}


CLAIMS = {"badnets": badnets, "fraction": fraction, "targeted": targeted, "default": default}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("claim", choices=sorted(CLAIMS))
    parser.add_argument("--dataset", default="world", choices=["world", "fashion-mnist"])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    parser.add_argument("--store", default="benchmarks/.work/poisoning", help="results store (victims are reused)")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    load = os.getloadavg()
    result = CLAIMS[args.claim](args)
    out = RESULTS / f"vision_poisoning_{args.claim}{'' if args.claim == 'default' else '_' + args.dataset}.json"
    out.write_text(json.dumps({"claim": args.claim, "dataset": args.dataset, "seeds": args.seeds,
                               "threads": args.threads, "machine": platform.processor() or platform.machine(),
                               "load_before": load, "load_after": os.getloadavg(), **result}, indent=1) + "\n")


if __name__ == "__main__":
    main()
