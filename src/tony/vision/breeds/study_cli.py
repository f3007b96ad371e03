"""`tony breeds run`: the BREEDS study from the command line. Imports only argparse until it runs (the
package's `__init__` imports nothing until asked, so building the parser stays cheap).

    tony breeds run                                      # the generated world, demo-sized defaults
    tony breeds run --dataset fashion-mnist --epochs 4
    tony breeds run --dataset imagenet --data DIR --hierarchy BREEDS_DIR living17
    tony breeds run --spec study.yaml                    # every field of BreedsStudySpec
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tony.core.executor_options import add_executor_options, executor_settings

VARIANT_NAMES = {"baseline": "baseline", "last_layer": "last layer on target", "strong_augmentation": "strong aug"}


def add_run(parser: argparse.ArgumentParser) -> None:
    """The arguments of `tony breeds run`."""
    parser.add_argument("benchmark", nargs="?", help="a published ImageNet benchmark (entity13, entity30, living17, "
                                                     "nonliving26; needs --dataset imagenet)")
    parser.add_argument("--spec", help="a JSON or YAML file of BreedsStudySpec fields (the options below override it)")
    parser.add_argument("--dataset", choices=["world", "fashion-mnist", "imagenet"],
                        help="the generated world (default), Fashion-MNIST, or an ImageNet-style folder")
    parser.add_argument("--data", metavar="DIR", help="fashion-mnist: the idx folder; imagenet: one folder per wnid")
    parser.add_argument("--hierarchy", metavar="DIR", help="imagenet: the BREEDS hierarchy files")
    parser.add_argument("--level", type=int, help="superclasses at this level (default 1)")
    parser.add_argument("--ancestor", help="only superclasses under this node")
    parser.add_argument("--subclasses", type=int, help="subclasses per superclass, half source, half target")
    parser.add_argument("--split", choices=["rand", "good", "bad"], help="how subclasses are split (default rand)")
    parser.add_argument("--split-seed", type=int, help="seed of the split (default 2, the published one)")
    parser.add_argument("--images-per-class", type=int, help="images per subclass (world: generated; default 400)")
    parser.add_argument("--image-size", type=int, help="image side (world: rendered; imagenet: resized; default 32)")
    parser.add_argument("--model", help="resnet8, resnet14, resnet20, resnet18, vgg7 or vgg11 (default resnet8)")
    parser.add_argument("--width", type=int, help="channels of the first stage (default 8)")
    parser.add_argument("--epochs", type=int, help="training epochs (default 20)")
    parser.add_argument("--intervention", action="append", choices=["last_layer", "strong_augmentation"],
                        help="intervention to run (repeatable; default both)")
    parser.add_argument("--seed", type=int, help="seeds the data, the training and the bootstrap (default 0)")
    parser.add_argument("--store", help="results directory or database URL (default ./tony-results)")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    add_executor_options(parser, workers=True)


def study_spec(args: argparse.Namespace) -> Any:
    """The `BreedsStudySpec` of the arguments (a spec file's fields, overridden by the options given)."""
    from tony.core.spec import read_spec_file
    from tony.vision.breeds.study import BreedsStudySpec

    fields: dict[str, Any] = read_spec_file(args.spec) if args.spec else {}
    data, train = dict(fields.pop("data", {}) or {}), dict(fields.pop("train", {}) or {})
    for key, value in (("dataset", args.dataset), ("path", args.data), ("hierarchy", args.hierarchy),
                       ("images_per_class", args.images_per_class), ("seed", args.seed)):
        if value is not None:
            data[key] = value
    if args.image_size is not None:
        if data.get("dataset", "world") == "world":
            data["world"] = {**dict(data.get("world", {}) or {}), "size": args.image_size}
        else:
            data["image_size"] = args.image_size
    for key, value in (("model", args.model), ("width", args.width), ("epochs", args.epochs), ("seed", args.seed)):
        if value is not None:
            train[key] = value
    for key, value in (("benchmark", args.benchmark), ("level", args.level), ("ancestor", args.ancestor),
                       ("subclasses", args.subclasses), ("split", args.split), ("split_seed", args.split_seed),
                       ("seed", args.seed)):
        if value is not None:
            fields[key] = value
    if args.intervention:
        fields["interventions"] = tuple(dict.fromkeys(args.intervention))
    return BreedsStudySpec.parse({**fields, "data": data, "train": train})


def run_study(args: argparse.Namespace) -> int:
    """Run the study; print a table (or JSON) of each variant's source and target accuracy and gap."""
    import json

    from tony.core.stats import headline_stats, interval_text
    from tony.vision.breeds.study import run_study as run

    spec = study_spec(args)
    result = run(spec, args.store, workers=args.workers, **executor_settings(args))
    if result.status != "complete":
        print(f"tony: error: the BREEDS study failed: {result.error}", file=sys.stderr)
        return 1
    rows = headline_stats(result.stats)
    if args.format == "json":
        print(json.dumps({"run": result.run_id, "labels": result.labels, "variants": rows}, indent=1))
        return 0
    print(f"BREEDS {spec.describe()}: {spec.train.model} w{spec.train.width}, {spec.train.epochs} epochs "
          f"(run {result.run_id[:12]}); accuracy [95% CI], n = test images")
    print(f"{'variant':<22}{'source':<24}{'target':<24}{'gap':<24}{'target gain':<24}")
    for variant, stats in rows.items():
        names = ("source_accuracy", "target_accuracy", "gap", "target_gain")
        cells = [interval_text(stats.get(name)) for name in names]
        print(f"{VARIANT_NAMES.get(variant, variant):<22}" + "".join(c.ljust(24) for c in cells))
    return 0
