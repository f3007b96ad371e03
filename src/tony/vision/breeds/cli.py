"""`tony breeds ...`: BREEDS subpopulation-shift tasks. Parses, calls tony.vision, prints; imports only argparse
until a command runs (the package's `__init__` is lazy). Each subcommand is one entry of SUBCOMMANDS: (add its
arguments, run it); `tony breeds run` lives in `study_cli`.

There is no packaged copy of the BREEDS ImageNet hierarchy (it is the BREEDS authors' hand-calibrated
edit of WordNet, published only in their repository) and nothing downloads at run time, so the named
ImageNet benchmarks need `--hierarchy DIR` with those files. `--wnids FILE` instead builds a hierarchy
from WordNet (Debian's wordnet-base) for any list of classes; it does not reproduce the published
benchmarks, whose superclasses come from the edited hierarchy.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from tony.vision.breeds import study_cli

BENCHMARKS = ("entity13", "entity30", "living17", "nonliving26")


def _add_splits(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", choices=BENCHMARKS, help="a published benchmark (or use --level)")
    parser.add_argument("--level", type=int, help="superclasses at this level (longest path from the root)")
    parser.add_argument("--ancestor", help="only superclasses under this node (a wnid)")
    parser.add_argument("--subclasses", type=int,
                        help="subclasses per superclass, half source, half target (default: the smallest "
                             "superclass's count, made even)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--hierarchy", metavar="DIR",
                        help="folder with the BREEDS files class_hierarchy.txt, dataset_class_info.json, "
                             "node_names.txt (ImageNet's: MadryLab/BREEDS-Benchmarks, imagenet_class_hierarchy/"
                             "modified)")
    source.add_argument("--wnids", metavar="FILE", help="build the hierarchy from WordNet for these classes "
                                                         "(one wnid per line)")
    parser.add_argument("--split", choices=["rand", "good", "bad"], default="rand",
                        help="rand: random halves (the published benchmarks); good: every subtree on both sides; "
                             "bad: subtrees kept on one side (default rand)")
    parser.add_argument("--seed", type=int, default=2, help="seed of the random split (default 2, the published one)")
    parser.add_argument("--format", choices=["table", "json"], default="table")


def _run_splits(args: argparse.Namespace) -> int:
    import json

    from tony.core.errors import SpecError
    from tony.vision.breeds import make_task, published_task

    if (args.name is None) == (args.level is None):
        raise SpecError("give a benchmark name (entity13, entity30, living17, nonliving26) or --level L, not both")
    if args.name and (args.ancestor or args.subclasses is not None):
        raise SpecError(f"{args.name} fixes its level, ancestor and subclasses: drop --ancestor/--subclasses, "
                        "or use --level instead of the name")
    hierarchy = _hierarchy(args)
    if args.name:
        task = published_task(args.name, hierarchy, args.split, args.seed)
    else:
        task = make_task(hierarchy, args.level, args.subclasses, args.split, args.ancestor, args.seed)
    if args.format == "json":
        print(json.dumps(task.to_json(), indent=1))
        return 0
    what = args.name or f"level {task.level}" + (f" under {task.ancestor}" if task.ancestor else "")
    half = task.subclasses // 2
    print(f"{what}: {len(task.superclasses)} superclasses x {task.subclasses} subclasses "
          f"({half} source + {half} target), split {task.split}, seed {task.seed}")
    for label, superclass in enumerate(task.superclasses):
        print(f"{label:>3}  {superclass.wnid}  {superclass.name}")
        for side, leaves in (("source", superclass.source), ("target", superclass.target)):
            print(f"       {side}: " + ", ".join(f"{_short(hierarchy.name(leaf))} ({leaf})" for leaf in leaves))
    return 0


def _hierarchy(args: argparse.Namespace) -> Any:
    from tony.core.errors import DataError, SpecError

    if args.wnids:
        from tony.vision.breeds.wordnet import wordnet_hierarchy

        try:
            with open(args.wnids, encoding="utf-8") as lines:
                return wordnet_hierarchy(line.split()[0] for line in lines if line.strip())
        except OSError as err:
            raise DataError(f"cannot read the wnid list {args.wnids}: {err.strerror}") from None
    if args.hierarchy:
        from tony.vision.breeds import read_breeds

        return read_breeds(args.hierarchy).hierarchy
    raise SpecError("give --hierarchy DIR with the BREEDS files (imagenet_class_hierarchy/modified of "
                    "github.com/MadryLab/BREEDS-Benchmarks) or --wnids FILE; tony ships no copy and downloads nothing")


def _short(name: str) -> str:
    """A class name's first synonym ("dog, domestic dog, ..." -> "dog")."""
    return name.split(",")[0]


SUBCOMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "splits": ("print a BREEDS task's superclasses with their source and target subclasses", _add_splits, _run_splits),
    "run": ("the BREEDS study: train on source subclasses, test on target ones, interventions",
            study_cli.add_run, study_cli.run_study),
}
"""name -> (help, add its arguments, run it)."""


def add_commands(commands: Any) -> None:
    """Add `breeds` and its subcommands to the top-level subparsers `commands`."""
    breeds = commands.add_parser("breeds", help="BREEDS subpopulation shift: tasks from a class hierarchy")
    sub = breeds.add_subparsers(dest="breeds_command", required=True, parser_class=type(breeds))
    for name, (text, add, _) in SUBCOMMANDS.items():
        add(sub.add_parser(name, help=text))


def run(args: argparse.Namespace) -> int:
    """Run `tony breeds ...`; TonyErrors propagate to tony.cli, which prints them and exits 2."""
    return SUBCOMMANDS[args.breeds_command][2](args)
