"""`tony edit ...`: editing a classifier by rewriting its prediction rules. Parses, calls tony.vision.editing,
prints; imports only argparse until a command runs.

    tony edit run                                        # world: the background replaced by snow, 1 exemplar
    tony edit run --concept foreground --style stripes --exemplars 3 --seeds 3
    tony edit run --dataset fashion-mnist --concept garment --style stripes --method rewrite
    tony edit sweep                                      # which swaps hurt the unedited model most
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

METHOD_NAMES = {"rewrite": "rewrite (rank one)", "finetune_local": "fine-tune layer",
                "finetune_global": "fine-tune all"}
COLUMNS = ("corrected_exemplar_class", "corrected_other_classes", "clean_accuracy_drop", "exemplars_fixed")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--spec", help="a JSON or YAML file of the spec's fields (the options below override it)")
    parser.add_argument("--dataset", choices=["world", "fashion-mnist"], help="the generated world (default) or "
                                                                            "Fashion-MNIST")
    parser.add_argument("--data", metavar="DIR", help="fashion-mnist: the idx folder (default Debian's)")
    parser.add_argument("--model", help="resnet8 (default), resnet14, resnet20, resnet18, vgg7 or vgg11")
    parser.add_argument("--width", type=int, help="channels of the model's first stage (default 16)")
    parser.add_argument("--epochs", type=int, help="training epochs of each model (default 12)")
    parser.add_argument("--train-per-class", type=int, help="training images per class (default 300)")
    parser.add_argument("--test-per-class", type=int, help="test images per class (default 100)")
    parser.add_argument("--seeds", type=int, help="models trained, seeds 0 .. N-1 (default 1)")
    parser.add_argument("--store", help="results directory or database URL (default ./tony-results)")
    parser.add_argument("--format", choices=["table", "json"], default="table")


def add_run(parser: argparse.ArgumentParser) -> None:
    """The arguments of `tony edit run`."""
    _add_common(parser)
    parser.add_argument("--concept", help="world: foreground or background (default), optionally :TEXTURE "
                                          "(background:grass); fashion-mnist: garment or background")
    parser.add_argument("--style", help="the texture that replaces the concept (default snow)")
    parser.add_argument("--method", action="append", choices=list(METHOD_NAMES),
                        help="edit method (repeatable; default all three)")
    parser.add_argument("--exemplars", type=int, help="training images of one class per edit (default 1)")
    parser.add_argument("--exemplar-class", help="the exemplars' class (default: drawn per draw)")
    parser.add_argument("--layer", help="the layer to edit, a dotted path (default: the last convolution)")
    parser.add_argument("--draws", type=int, help="exemplar draws per model (default 10)")
    parser.add_argument("--steps", type=int, help="rewrite: optimisation steps (default 400)")
    parser.add_argument("--loss", choices=["l1", "l2"], help="rewrite: l1 (default, the paper's) or l2")
    parser.add_argument("--rank", type=int, help="rewrite: rank of the update (default 1)")


def add_sweep(parser: argparse.ArgumentParser) -> None:
    """The arguments of `tony edit sweep`."""
    _add_common(parser)
    parser.add_argument("--concept", action="append", help="a concept to swap (repeatable; default every region)")
    parser.add_argument("--style", action="append", help="a texture to swap in (repeatable; default all ten)")


def _fields(args: argparse.Namespace) -> dict[str, Any]:
    """The spec fields shared by both commands (a spec file's, overridden by the options given)."""
    from tony.core.spec import read_spec_file

    fields: dict[str, Any] = read_spec_file(args.spec) if args.spec else {}
    data, train = dict(fields.pop("data", {}) or {}), dict(fields.pop("train", {}) or {})
    for key, value in (("dataset", args.dataset), ("path", args.data), ("train_per_class", args.train_per_class),
                       ("test_per_class", args.test_per_class)):
        if value is not None:
            data[key] = value
    for key, value in (("model", args.model), ("width", args.width), ("epochs", args.epochs)):
        if value is not None:
            train[key] = value
    if args.seeds is not None:
        fields["seeds"] = args.seeds
    return {**fields, "data": data, "train": train}


def study_spec(args: argparse.Namespace) -> Any:
    """The `EditStudySpec` of `tony edit run`'s arguments."""
    from tony.vision.editing.spec import EditStudySpec

    fields = _fields(args)
    rewrite = dict(fields.pop("rewrite", {}) or {})
    for key, value in (("steps", args.steps), ("loss", args.loss), ("rank", args.rank)):
        if value is not None:
            rewrite[key] = value
    for key, value in (("concept", args.concept), ("style", args.style), ("exemplars", args.exemplars),
                       ("exemplar_class", args.exemplar_class), ("layer", args.layer), ("draws", args.draws)):
        if value is not None:
            fields[key] = value
    if args.method:
        fields["methods"] = tuple(dict.fromkeys(args.method))
    if fields["data"].get("dataset") == "fashion-mnist" and "concept" not in fields:
        fields["concept"] = "garment"
    return EditStudySpec.parse({**fields, "rewrite": rewrite})


def run_edit(args: argparse.Namespace) -> int:
    """Run the study; print each method's corrected fractions and clean accuracy drop with intervals."""
    from tony.core.stats import headline_stats
    from tony.vision.editing.study import run_study

    spec = study_spec(args)
    result = run_study(spec, args.store)
    if result.status != "complete":
        print(f"tony: error: the editing study failed: {result.error}", file=sys.stderr)
        return 1
    rows = headline_stats(result.stats)
    if args.format == "json":
        print(json.dumps({"run": result.run_id, "labels": result.labels, "methods": rows}, indent=1))
        return 0
    unedited = rows.get("unedited", {})
    print(f"edit {spec.describe()}: {spec.train.model} w{spec.train.width}, layer {spec.edited_layer}, "
          f"{spec.seeds} seed(s) x {spec.draws} draws (run {result.run_id[:12]})")
    print("unedited: clean accuracy " + _shown(unedited.get("clean_accuracy")) + ", transformed "
          + _shown(unedited.get("transformed_accuracy")) + ", broken by the transformation "
          + _shown(unedited.get("broken_fraction")))
    print("mean over edits [95% CI]")
    print(f"{'method':<20}" + "".join(f"{name.replace('_', ' '):<27}" for name in COLUMNS))
    for method in spec.methods:
        cells = [_shown(rows.get(method, {}).get(name)) for name in COLUMNS]
        print(f"{METHOD_NAMES[method]:<20}" + "".join(c.ljust(27) for c in cells))
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    """Run the sweep; print broken fractions per concept, most harmful style first."""
    from tony.vision.editing.sweep import EditSweepSpec, vulnerability_table
    from tony.vision.editing.sweep import run_sweep as run

    fields = _fields(args)
    if args.concept:
        fields["concepts"] = tuple(dict.fromkeys(args.concept))
    if args.style:
        fields["styles"] = tuple(dict.fromkeys(args.style))
    spec = EditSweepSpec.parse(fields)
    result = run(spec, args.store)
    if result.status != "complete":
        print(f"tony: error: the sweep failed: {result.error}", file=sys.stderr)
        return 1
    table = vulnerability_table(result.stats)
    if args.format == "json":
        print(json.dumps({"run": result.run_id, "broken_fraction": {
            c: {s: _as_dict(stat) for s, stat in row.items()} for c, row in table.items()}}, indent=1))
        return 0
    print(f"{spec.describe()} (run {result.run_id[:12]}): of the test images with the concept that the model gets "
          "right, the fraction the swap makes wrong [95% CI]")
    for concept, row in table.items():
        print(f"{concept}:")
        for style, stat in row.items():
            print(f"  {style:<10}{_shown(_as_dict(stat))}")
    return 0


def _as_dict(stat: Any) -> dict[str, float]:
    return {"value": stat.value, "ci_low": stat.ci_low, "ci_high": stat.ci_high, "n": stat.n}


SUBCOMMANDS = {
    "run": ("edit models from exemplars (rewrite, local and global fine-tuning) and evaluate as the paper did",
            add_run, run_edit),
    "sweep": ("which texture swaps on which concepts hurt the unedited model most", add_sweep, run_sweep),
}
"""name -> (help, add its arguments, run it)."""


def add_commands(commands: Any) -> None:
    """Add `edit` and its subcommands to the top-level subparsers `commands`."""
    edit = commands.add_parser("edit", help="editing a classifier by rewriting its prediction rules")
    sub = edit.add_subparsers(dest="edit_command", required=True, parser_class=type(edit))
    for name, (text, add, _) in SUBCOMMANDS.items():
        add(sub.add_parser(name, help=text))


def run(args: argparse.Namespace) -> int:
    """Run `tony edit ...`; TonyErrors propagate to tony.cli, which prints them and exits 2."""
    return SUBCOMMANDS[args.edit_command][2](args)


def _shown(stat: dict[str, float] | None) -> str:
    from tony.core.stats import interval_text

    return interval_text(stat, missing="-")  # "-": missing, or nan (no such edits)
