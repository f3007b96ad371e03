"""`tony icl train|eval|presets`: parses, calls `tony.icl.api`, prints. Imports nothing heavy until run."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tony.core.executor_options import add_executor_options, executor_settings


def add_commands(commands: Any) -> None:
    """Add `icl` and its subcommands to the top-level subparsers `commands`."""
    icl = commands.add_parser("icl", help="in-context learning of function classes: train a transformer, evaluate it")
    sub = icl.add_subparsers(dest="icl_command", required=True, parser_class=type(icl))

    train = sub.add_parser("train", help="train (or resume training) a preset or a spec file")
    _spec_options(train)
    train.add_argument("--restart", action="store_true", help="discard this spec's checkpoints and start at step 0")
    train.add_argument("--checkpoint-every", type=int, help="steps between checkpoints (default: the preset's)")
    train.add_argument("--max-steps", type=int, help="stop after this many steps in this call (resume later)")

    evaluate = sub.add_parser("eval", help="error per number of in-context examples, transformer and baselines")
    _spec_options(evaluate)
    evaluate.add_argument("--distribution", action="append",
                          help="prompt distribution (repeatable; default standard; see tony.icl.prompts)")
    evaluate.add_argument("--scale", type=float, help="factor of scaled_inputs / scaled_outputs")
    evaluate.add_argument("--n-prompts", type=int, help="prompts per evaluation (default: the preset's)")
    evaluate.add_argument("--n-points", type=int, help="points per prompt (default: the model's maximum)")
    evaluate.add_argument("--baseline", action="append",
                          help="baseline name (repeatable; default: the paper's; `tony ls icl_baseline` lists them)")
    evaluate.add_argument("--format", choices=["table", "json"], default="table")
    add_executor_options(evaluate, workers=True)

    sub.add_parser("presets", help="list the training presets")


def _spec_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("preset", nargs="?", help="a preset name (`tony icl presets`)")
    parser.add_argument("--spec", help="a JSON or YAML spec file instead of a preset")
    parser.add_argument("--steps", type=int, help="train for this many steps instead (a different spec)")
    parser.add_argument("--store", help="results directory or database URL (default ./tony-results)")
    parser.add_argument("--device", default="cpu",
                        help="where to train: cpu (default), cuda or cuda:N (the paper-sized presets need a GPU)")


def run(args: argparse.Namespace) -> int:
    """Run `tony icl ...`; TonyErrors propagate to the caller, which prints them and exits 2."""
    from tony.icl import api

    if args.icl_command == "presets":
        for preset in api.presets():
            print(f"  {preset.name:<14} {preset.description}")
        return 0
    if args.icl_command == "train":
        spec = api.train_spec(args.preset, args.spec, steps=args.steps)
        try:
            result = api.train(spec, args.store, restart=args.restart, checkpoint_every=args.checkpoint_every,
                               max_steps=args.max_steps, device=args.device)
        except KeyboardInterrupt:
            print("tony: interrupted; `tony icl train` again resumes from the last checkpoint", file=sys.stderr)
            return 130
        loss = f"; loss {result.losses[-1][1]:.4f}" if result.losses else ""
        if result.seconds == 0.0 and result.step >= spec.steps:
            print(f"already trained: {spec.describe()} (spec {spec.key()[:12]}){loss}")
        else:
            resumed = f" (resumed at step {result.resumed_from})" if result.resumed_from else ""
            print(f"trained {spec.describe()} to step {result.step}{resumed} in {result.seconds:.0f}s on "
                  f"{result.device}{loss}; "
                  f"checkpoint {result.checkpoint}")
        return 0
    return _evaluate(args)


def _evaluate(args: argparse.Namespace) -> int:
    import json

    from tony.core.spec import read_spec_file
    from tony.icl import api

    if args.spec and not args.preset:
        data = read_spec_file(args.spec)
        specs = [api.eval_spec_file(args.spec)] if "train" in data else None
    else:
        specs = None
    if specs is None:
        train = api.train_spec(args.preset, args.spec, steps=args.steps)
        specs = api.eval_specs(train, args.distribution or ["standard"], n_prompts=args.n_prompts,
                               n_points=args.n_points, scale=args.scale, baselines=args.baseline or ())
    failed, output = 0, []
    for result in api.evaluate(specs, args.store, device=args.device, workers=args.workers,
                               **executor_settings(args)):
        if result.status != "complete":
            failed += 1
            print(f"FAILED  {result.run_id[:12]}: {result.error}", file=sys.stderr)
            continue
        curves = api.curves(result.stats)
        if args.format == "json":
            output.append({"run": result.run_id, "labels": result.labels,
                           "curves": {split or "transformer": [[k, s.value, s.ci_low, s.ci_high, s.n]
                                                               for k, s in by_k.items()]
                                      for split, by_k in curves.items()}})
        else:
            print(_table(result.labels, result.run_id, curves))
    if args.format == "json":
        print(json.dumps(output, indent=1))
    return 1 if failed else 0


def _table(labels: dict[str, Any], run_id: str, curves: dict[str, dict[int, Any]]) -> str:
    """Normalized squared error per k, one column per predictor, each with its 90% interval."""
    names = [split.removeprefix("baseline:") or "transformer" for split in curves]
    width = 22
    lines = [f"{labels['scenario']} · {labels['distribution']} · {labels['model']} (train {labels['train']}), "
             f"run {run_id[:12]}: normalized squared error [90% CI], n = {next(iter(curves[''].values())).n} prompts",
             "k    " + "".join(n[:width - 1].ljust(width) for n in names)]
    for k in curves[""]:
        cells = [curves[split][k] for split in curves]
        lines.append(f"{k:<5}" + "".join(f"{s.value:.3f} [{s.ci_low:.3f}, {s.ci_high:.3f}]".ljust(width)
                                         for s in cells))
    return "\n".join(lines) + "\n"
