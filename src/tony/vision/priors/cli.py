"""`tony priors run`: the feature-priors study from the command line. Imports only argparse until it runs.

    tony priors run                                          # co-training edges + bagnet on the world, p = 0.9
    tony priors run --method self_train --priors shape --spurious 1.0 --seeds 3
    tony priors run --dataset fashion-mnist --labeled 500 --method ensemble --format json
    tony priors run --spec study.yaml                        # every field of PriorsStudySpec
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

METHODS = ("single", "ensemble", "self_train", "co_train", "co_train_combined")


def add_run(parser: argparse.ArgumentParser) -> None:
    """The arguments of `tony priors run`."""
    parser.add_argument("--spec", help="a JSON or YAML file of PriorsStudySpec fields (the options below override it)")
    parser.add_argument("--dataset", choices=["world", "fashion-mnist"], help="the generated world (default) or "
                                                                             "Fashion-MNIST with an added mark")
    parser.add_argument("--data", metavar="DIR", help="fashion-mnist: the idx folder")
    parser.add_argument("--labeled", type=int, help="labeled images (default 200)")
    parser.add_argument("--unlabeled", type=int, help="unlabeled images (default 2000)")
    parser.add_argument("--test", type=int, help="test (and cue-conflict) images (default 1000)")
    parser.add_argument("--spurious", type=float, metavar="P",
                        help="fraction of labeled images whose cue is their class's beyond chance (default 0.9)")
    parser.add_argument("--object-textures", metavar="T+T+...",
                        help="world: each class's object texture, in class order (e.g. road+bricks+water+dots): a "
                             "genuine texture cue in every set (default: flat-coloured objects)")
    parser.add_argument("--object-tie", type=float, metavar="Q",
                        help="with --object-textures, the fraction of images whose object shows its class's texture "
                             "beyond chance (default 0.5)")
    parser.add_argument("--method", choices=METHODS, help="default co_train")
    parser.add_argument("--priors", help="priors joined by + (shape, texture, standard, edges, sobel, blur, bagnet, "
                                         "patch_shuffle; default shape+texture)")
    parser.add_argument("--rounds", type=int, help="pseudo-labeling rounds (default 3)")
    parser.add_argument("--steps", type=int, help="training steps per model (default 250)")
    parser.add_argument("--seeds", type=int, help="seeds 0 .. S-1 (default 1)")
    parser.add_argument("--store", help="results directory or database URL (default ./tony-results)")
    parser.add_argument("--format", choices=["table", "json"], default="table")


def study_spec(args: argparse.Namespace) -> Any:
    """The `PriorsStudySpec` of the arguments (a spec file's fields, overridden by the options given)."""
    from tony.core.spec import read_spec_file
    from tony.vision.priors.study import PriorsStudySpec

    fields: dict[str, Any] = read_spec_file(args.spec) if args.spec else {}
    setting, train = dict(fields.pop("setting", {}) or {}), dict(fields.pop("train", {}) or {})
    for key, value in (("dataset", args.dataset), ("path", args.data), ("labeled", args.labeled),
                       ("unlabeled", args.unlabeled), ("test", args.test), ("spurious", args.spurious),
                       ("object_textures", args.object_textures and args.object_textures.split("+")),
                       ("object_tie", args.object_tie)):
        if value is not None:
            setting[key] = value
    if args.steps is not None:
        train["steps"] = args.steps
    for key, value in (("method", args.method), ("priors", args.priors), ("rounds", args.rounds),
                       ("seeds", args.seeds)):
        if value is not None:
            fields[key] = value
    return PriorsStudySpec.parse({**fields, "setting": setting, "train": train})


def run_study(args: argparse.Namespace) -> int:
    """Run the study; print each model's accuracy (and shape bias) as a table or JSON."""
    import json

    from tony.core.stats import headline_stats, interval_text
    from tony.vision.priors.study import run_study as run

    spec = study_spec(args)
    result = run(spec, args.store)
    if result.status != "complete":
        print(f"tony: error: the priors study failed: {result.error}", file=sys.stderr)
        return 1
    rows = headline_stats(result.stats)
    if args.format == "json":
        print(json.dumps({"run": result.run_id, "labels": result.labels, "models": rows}, indent=1))
        return 0
    print(f"priors: {spec.describe()}, {spec.seeds} seed(s) (run {result.run_id[:12]}); [95% CI], accuracy n = test "
          "images, over seeds n = seeds")
    columns = ("accuracy", "accuracy_over_seeds", "shape_bias")
    print(f"{'model':<12}" + "".join(f"{name:<26}" for name in ("accuracy", "accuracy over seeds", "shape bias")))
    for model, stats in rows.items():
        print(f"{model:<12}" + "".join(interval_text(stats.get(name)).ljust(26) for name in columns))
    return 0


def add_commands(commands: Any) -> None:
    """Add `priors` and its subcommand `run` to the top-level subparsers `commands`."""
    priors = commands.add_parser("priors", help="feature priors: shape and texture models co-trained on unlabeled "
                                                "data under a spurious correlation")
    sub = priors.add_subparsers(dest="priors_command", required=True, parser_class=type(priors))
    add_run(sub.add_parser("run", help="one method (single, ensemble, self_train, co_train, co_train_combined) on "
                                       "one setting, over seeds"))


def run(args: argparse.Namespace) -> int:
    """Run `tony priors ...`; TonyErrors propagate to tony.cli, which prints them and exits 2."""
    return run_study(args)
