"""`tony annotations replication`: parses, calls `tony.annotations.replication.api`, prints. Imports only argparse."""

from __future__ import annotations

import argparse
from typing import Any

COLUMNS = (("accuracy_original", "original acc"), ("accuracy_replicated", "replicated acc"), ("gap_raw", "raw gap"),
           ("gap_naive", "naive gap"), ("gap_jackknife", "jackknife gap"), ("gap_parametric", "parametric gap"))


def add_parser(subparsers: Any) -> None:
    """Add `replication` to the `tony annotations` subparsers."""
    parser = subparsers.add_parser(
        "replication", help="bias-corrected accuracy gaps between an original and a replicated test set",
        description="Reads an annotations CSV (image,set,yes,n) and a predictions CSV (image,<model>,...; 0/1) "
                    "and prints, per model, the raw accuracy gap and the gap corrected for matching on noisy "
                    "selection frequencies (naive plug-in, delete-d jackknife, beta-binomial parametric), each "
                    "with a 95% bootstrap interval. --simulate DIR writes example files first.")
    parser.add_argument("annotations", nargs="?", help="annotations CSV (see tony.annotations.replication.io)")
    parser.add_argument("predictions", nargs="?", help="predictions CSV")
    parser.add_argument("--simulate", metavar="DIR",
                        help="write a simulated study (annotations.csv, predictions.csv, truth.json) into DIR "
                             "and analyse it")
    parser.add_argument("--sim-models", type=int, default=10, help="models in the simulation (default 10)")
    parser.add_argument("--sim-classes", type=int, default=50, help="classes in the simulation (default 50)")
    parser.add_argument("--sim-per-class", type=int, default=40,
                        help="original images per class in the simulation (default 40)")
    parser.add_argument("--sim-annotators", type=int, default=10,
                        help="fresh annotators per image in the simulation (default 10)")
    parser.add_argument("--sim-shift", type=float, default=0.0,
                        help="logits every model loses on replicated images: a true gap (default 0)")
    parser.add_argument("--annotators", type=int, help="thin every image to this many annotators (default: fewest)")
    parser.add_argument("--delete", type=int, help="d of the delete-d jackknife (default: half the annotators)")
    parser.add_argument("--components", type=int, default=3, help="beta components per frequency mixture")
    parser.add_argument("--resamples", type=int, default=200, help="bootstrap replicates (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and of the simulation")
    parser.add_argument("--store", help="results directory or database URL (default ./tony-results)")
    parser.add_argument("--format", choices=["table", "json"], default="table")


def run(args: argparse.Namespace) -> int:
    """Run the study; TonyErrors propagate to `tony.cli.main`, which prints them and exits 2."""
    import json

    from tony.annotations.replication import api
    from tony.core.errors import SpecError

    truth = None
    if args.simulate:
        if args.annotations or args.predictions:
            raise SpecError("give either --simulate DIR or the ANNOTATIONS and PREDICTIONS files, not both")
        spec = api.SimulationSpec.parse({"models": args.sim_models, "classes": args.sim_classes,
                                         "per_class": args.sim_per_class, "annotators": args.sim_annotators,
                                         "shift": args.sim_shift, "seed": args.seed})
        files = api.simulate_files(args.simulate, spec)
        annotations, predictions = files.annotations, files.predictions
        truth = json.loads(files.truth.read_text(encoding="utf-8"))["models"]
        print(f"wrote {files.annotations}, {files.predictions} and {files.truth}")
    elif args.annotations and args.predictions:
        annotations, predictions = args.annotations, args.predictions
    else:
        raise SpecError("give ANNOTATIONS and PREDICTIONS files, or --simulate DIR to write and analyse an example")
    spec = api.study_spec(annotations, predictions, annotators=args.annotators, delete=args.delete,
                          components=args.components, resamples=args.resamples, seed=args.seed)
    result = api.run(spec, args.store)
    rows = api.table(result.stats)
    if args.format == "json":
        print(json.dumps({"run": result.run_id, "annotators": spec.annotators, "delete": spec.delete,
                          "models": {model: {name: [s.value, s.ci_low, s.ci_high] for name, s in stats.items()}
                                     for model, stats in rows.items()},
                          **({"truth": truth} if truth else {})}, indent=1))
        return 0
    print(_table(rows, truth))
    print(f"\nrun {result.run_id[:12]}: gaps are original minus replicated accuracy, 95% bootstrap intervals; "
          f"images thinned to {spec.annotators} annotators, jackknife deletes {spec.delete}. "
          "`tony report` plots them.")
    return 0


def _table(rows: dict[str, dict[str, Any]], truth: dict[str, dict[str, float]] | None) -> str:
    width = max([len("model"), *(len(m) for m in rows)])
    header = "model".ljust(width) + "".join(f"  {label:<24}" for _, label in COLUMNS)
    header += "  true gap" if truth else ""
    lines = [header]
    for model, stats in rows.items():
        cells = "".join(f"  {_cell(stats[name], signed=name.startswith('gap')):<24}" for name, _ in COLUMNS)
        lines.append(model.ljust(width) + cells + (f"  {truth[model]['gap']:+.4f}" if truth else ""))
    return "\n".join(lines)


def _cell(stat: Any, *, signed: bool) -> str:
    sign = "+" if signed else ""
    return f"{stat.value:{sign}.4f} [{stat.ci_low:{sign}.4f}, {stat.ci_high:{sign}.4f}]"
