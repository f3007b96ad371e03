"""`tony poison run|attacks|defenses`: dataset poisoning and backdoors. Parses, calls tony.vision.poisoning, prints;
imports only argparse until a command runs.

    tony poison run                                             # BadNets on the world, 10%, every defense
    tony poison run --dataset fashion-mnist --fraction 0.1 --seeds 3
    tony poison run --attack blended --option alpha=0.1 --defense spectral --defense strip
    tony poison run --suite grid.yaml                           # attack x fraction x defense x seeds
    tony poison attacks                                         # the attacks and the threat models they fit
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tony.core.executor_options import add_executor_options

THREAT_OPTIONS = ("knowledge", "labels", "eps", "goal", "target_class", "mapping", "regime", "count")


def add_commands(commands: Any) -> None:
    """Add `poison` and its subcommands to the top-level subparsers `commands`."""
    poison = commands.add_parser("poison", help="dataset poisoning and backdoors: attacks x defenses")
    sub = poison.add_subparsers(dest="poison_command", required=True, parser_class=type(poison))
    run = sub.add_parser("run", help="poison, train the victim, apply defenses; C-Acc, ASR, DER over seeds")
    run.add_argument("--suite", metavar="FILE", help="a grid file (attacks x fractions x defenses x seeds); the "
                                                     "options below are ignored but --store and --format")
    run.add_argument("--dataset", help="world (default), fashion-mnist, or a folder of class folders")
    run.add_argument("--data", metavar="DIR", help="fashion-mnist: the idx folder (default Debian's)")
    run.add_argument("--train-images", type=int, help="the victim's training set size (default 6000)")
    run.add_argument("--test-images", type=int, help="test images (default 1000)")
    run.add_argument("--attack", action="append", help="attack (repeatable; default badnets; `tony poison attacks`)")
    run.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                     help="an attack option, e.g. size=4 or alpha=0.1 (repeatable)")
    run.add_argument("--fraction", type=float, action="append", help="poison budget as a fraction of the training "
                                                                      "set (repeatable; default 0.1)")
    run.add_argument("--count", type=int, help="poison budget as a number of examples (instead of --fraction)")
    run.add_argument("--defense", action="append", help="defense (repeatable; default all; `tony poison defenses`)")
    run.add_argument("--no-defense", action="store_true", help="run no defense")
    run.add_argument("--seeds", type=int, default=1, help="seeds 0 .. N-1 per grid cell (default 1)")
    run.add_argument("--knowledge", choices=["black_box", "grey_box", "white_box"])
    run.add_argument("--labels", choices=["dirty", "clean"])
    run.add_argument("--eps", type=float, help="L-inf bound on perturbations, pixels in [0, 1]")
    run.add_argument("--goal", choices=["indiscriminate", "targeted", "backdoor"])
    run.add_argument("--target-class", help="the target class (id or name; default the last class)")
    run.add_argument("--mapping", choices=["all-to-one", "all-to-all"])
    run.add_argument("--regime", choices=["scratch", "last_layer", "fine_tune"])
    run.add_argument("--model", help="victim architecture (default vgg7)")
    run.add_argument("--width", type=int, help="channels of the first stage (default 8)")
    run.add_argument("--epochs", type=int, help="training epochs (default 12)")
    run.add_argument("--store", help="results directory or database URL (default ./tony-results)")
    run.add_argument("--format", choices=["table", "json"], default="table")
    add_executor_options(run, workers=True)
    sub.add_parser("attacks", help="list the attacks and the threat models they fit")
    sub.add_parser("defenses", help="list the defenses and what they need")


def run(args: argparse.Namespace) -> int:
    """Run `tony poison ...`; TonyErrors propagate to tony.cli, which prints them and exits 2."""
    if args.poison_command == "attacks":
        return _list_attacks()
    if args.poison_command == "defenses":
        return _list_defenses()
    return _run(args)


def run_specs(args: argparse.Namespace) -> list[Any]:
    """The specs the arguments ask for (a suite file's, or the options' grid)."""
    from tony.core.errors import SpecError
    from tony.vision.poisoning.grid import grid_specs, suite_specs

    if args.suite:
        return suite_specs(args.suite)
    if args.seeds < 1:
        raise SpecError(f"--seeds must be 1 or more, got {args.seeds}")
    data = {k: v for k, v in (("dataset", args.dataset), ("path", args.data), ("train_images", args.train_images),
                              ("test_images", args.test_images)) if v is not None}
    train = {k: v for k, v in (("model", args.model), ("width", args.width), ("epochs", args.epochs)) if v is not None}
    threat = {k: getattr(args, k) for k in THREAT_OPTIONS if getattr(args, k) is not None}
    base: dict[str, Any] = {"data": data, "train": train, "threat": threat}
    if args.no_defense or args.defense:
        base["defenses"] = [] if args.no_defense else list(dict.fromkeys(args.defense))
    options = dict(_option(text) for text in args.option)
    attacks = [{"attack": a, "options": options} for a in (args.attack or ["badnets"])]
    return grid_specs(base, attacks, args.fraction or [None], range(args.seeds))


def _option(text: str) -> tuple[str, Any]:
    import yaml

    from tony.core.errors import SpecError

    key, sep, value = text.partition("=")
    if not sep or not key:
        raise SpecError(f"--option {text!r}: write KEY=VALUE, e.g. --option size=4")
    return key, yaml.safe_load(value)


def _run(args: argparse.Namespace) -> int:
    import json

    from tony.core.executor_options import executor_settings
    from tony.core.executors import run_specs as execute_specs
    from tony.vision.poisoning.grid import summarize
    from tony.vision.poisoning.study import check_data

    specs = run_specs(args)
    for spec in specs:
        check_data(spec)  # an unknown class or a bad folder stops the grid before anything is stored
    results, failed = [], 0
    for result in execute_specs(specs, args.store, batch_size=500, workers=args.workers, **executor_settings(args)):
        if result.status != "complete":
            print(f"tony: error: run {result.run_id[:12]} failed: {result.error}", file=sys.stderr)
            failed += 1
        else:
            results.append((result.labels, result.stats))
    rows = summarize(results)
    if args.format == "json":
        print(json.dumps({"runs": len(results), "failed": failed, "rows": rows}, indent=1))
    else:
        print(table(rows))
    return 1 if failed else 0


COLUMNS = (("c_acc", "C-Acc"), ("asr", "ASR"), ("r_acc", "R-Acc"), ("der", "DER"), ("filter_tpr", "filter TPR"),
           ("target_success", "target success"))


def table(rows: list[dict[str, Any]]) -> str:
    """The summary as text: one line per grid cell and variant; [95% interval], over seeds when seeds > 1."""
    from tony.core.stats import interval_text
    shown = [c for c in COLUMNS if any(c[0] in row for row in rows)]
    lines = ["values [95% CI]: bootstrap over test images for one seed, t interval over seeds for several",
             f"{'dataset':<14}{'attack':<18}{'budget':<8}{'seeds':<6}{'variant':<22}"
             + "".join(title.ljust(22) for _, title in shown)]
    for row in rows:
        budget = row["count"] if row.get("count") is not None else f"{row['fraction']:g}"
        lines.append(f"{str(row['dataset'])[:13]:<14}{row['attack']:<18}{budget:<8}{row['seeds']:<6}"
                     f"{row['variant']:<22}" + "".join(interval_text(row.get(name)).ljust(22) for name, _ in shown))
    return "\n".join(lines)


def _list_attacks() -> int:
    from tony.core.registry import registry

    for entry in registry.entries("poison_attack"):
        attack = registry.get("poison_attack", entry.name)()
        print(f"{entry.name:<20}{entry.description}")
        print(f"{'':<20}fits: {attack.needs().describe()}")
    return 0


def _list_defenses() -> int:
    from tony.core.registry import registry

    for entry in registry.entries("poison_defense"):
        defense = registry.get("poison_defense", entry.name)
        fits = "backdoor attacks (needs a test-time trigger)" if defense.backdoor_only else "any attack"
        print(f"{entry.name:<24}{defense.kind:<10}{entry.description}")
        print(f"{'':<34}fits: {fits}")
    return 0
