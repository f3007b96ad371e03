"""`tony rl train|ablate|presets|switches`: parses, calls `tony.rl.api`, prints. Imports nothing heavy until run."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tony.core.executor_options import add_executor_options, executor_settings
from tony.rl import defaults


def add_commands(commands: Any) -> None:
    """Add `rl` and its subcommands to the top-level subparsers `commands`."""
    rl = commands.add_parser("rl", help="PPO and TRPO with code-level optimizations as switches; ablations over seeds")
    sub = rl.add_subparsers(dest="rl_command", required=True, parser_class=type(rl))

    train = sub.add_parser("train", help="train (or resume) one run of a preset")
    train.add_argument("preset", help="PPO, PPO-M, PPO-NoClip, TRPO or TRPO+ (`tony rl presets`)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--switch", action="append", default=[], metavar="NAME=on|off",
                       help="set a code-level switch (repeatable; `tony rl switches` lists them)")
    _common(train)

    ablate = sub.add_parser("ablate", help="presets x flipped switches x seeds, run in parallel, resumable")
    ablate.add_argument("--preset", action="append",
                        help=f"preset to run (repeatable; default {', '.join(defaults.ABLATION_PRESETS)})")
    ablate.add_argument("--flip", action="append", default=[], metavar="SWITCH",
                        help="also run each preset with this switch flipped (repeatable)")
    ablate.add_argument("--seeds", type=int, default=defaults.SEEDS,
                        help=f"seeds 0 .. N-1 per configuration (default {defaults.SEEDS})")
    ablate.add_argument("--workers", type=int, default=1, help="runs trained in parallel processes (default 1)")
    add_executor_options(ablate)
    _common(ablate)

    sub.add_parser("presets", help="list the presets and their switches")
    sub.add_parser("switches", help="list the code-level switches")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", default=defaults.ENV, help=f"Gymnasium environment id (default {defaults.ENV})")
    parser.add_argument("--steps", type=int, default=defaults.TOTAL_STEPS,
                        help=f"environment steps per run (default {defaults.TOTAL_STEPS:,})")
    parser.add_argument("--num-envs", type=int, default=defaults.NUM_ENVS,
                        help=f"vectorized environments per run (default {defaults.NUM_ENVS})")
    parser.add_argument("--checkpoint-every", type=int, default=defaults.CHECKPOINT_EVERY,
                        help=f"iterations between checkpoints (default {defaults.CHECKPOINT_EVERY})")
    parser.add_argument("--store", help="results directory or database URL (default ./tony-results)")


def run(args: argparse.Namespace) -> int:
    """Run `tony rl ...`; TonyErrors propagate to the caller, which prints them and exits 2."""
    from tony.rl import api

    if args.rl_command == "presets":
        descriptions = api.preset_descriptions()
        for name, preset in api.presets().items():
            print(f"  {name:<11} {preset.algo:<5} {descriptions[name]}")
            print(f"  {'':<17} on: {', '.join(preset.switches.turned_on()) or 'none'}")
        return 0
    if args.rl_command == "switches":
        for name, what in api.switches().items():
            print(f"  {name:<18} {what}")
        return 0
    if args.rl_command == "train":
        specs = [api.make_spec(args.preset, env=args.env, total_steps=args.steps, seed=args.seed,
                               switches=api.parse_switches(args.switch), num_envs=args.num_envs)]
        settings: dict[str, Any] = {}
    else:
        specs = api.ablation_specs(args.preset or defaults.ABLATION_PRESETS, args.flip, range(args.seeds),
                                   env=args.env, total_steps=args.steps, num_envs=args.num_envs)
        settings = {"workers": args.workers, **executor_settings(args)}
    failed = 0
    try:
        for result in api.ablate(specs, args.store, checkpoint_every=args.checkpoint_every, **settings):
            what = f"{result.labels['method']} seed {result.labels['seed']} on {result.labels['scenario']}"
            if result.status != "complete":
                failed += 1
                print(f"FAILED  {result.run_id[:12]}  {what}: {result.error}", file=sys.stderr)
                continue
            final = next(s for s in result.stats if s.name == "final_return")
            note = "already stored" if result.reused else f"{result.wall_s:.0f}s"
            print(f"done    {result.run_id[:12]}  {what}: final return {final.value:.1f} "
                  f"[{final.ci_low:.1f}, {final.ci_high:.1f}] over {final.n} episodes ({note})", file=sys.stderr)
    except KeyboardInterrupt:
        print("tony: interrupted; the same command resumes from the last checkpoints", file=sys.stderr)
        return 130
    print(_table(api.summary(args.store, [s.key() for s in specs])))
    return 1 if failed else 0


def _table(rows: list[dict[str, Any]]) -> str:
    """Final return and trust-region diagnostics per configuration: mean over seeds [95% t interval]."""
    header = f"{'env':<22}{'configuration':<34}{'seeds':>6}  {'final return':<26}{'mean KL':<12}{'max ratio':<11}"
    lines = [header]
    for row in rows:
        final = row["final_return"]
        interval = f"{final.value:.1f} [{final.ci_low:.1f}, {final.ci_high:.1f}]"
        lines.append(f"{row['env']:<22}{row['label'][:33]:<34}{len(row['seeds']):>6}  {interval:<26}"
                     f"{row['kl'].value:<12.4f}{row['max_ratio'].value:<11.3f}")
    return "\n".join(lines)
