"""`tony rl train|ablate|presets|switches`: parses, calls `tony.rl.api`, prints. Imports nothing heavy until run."""

from __future__ import annotations

import argparse
import sys
from typing import Any


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
    ablate.add_argument("--preset", action="append", help="preset to run (repeatable; default PPO, PPO-M, TRPO, TRPO+)")
    ablate.add_argument("--flip", action="append", default=[], metavar="SWITCH",
                        help="also run each preset with this switch flipped (repeatable)")
    ablate.add_argument("--seeds", type=int, default=3, help="seeds 0 .. N-1 per configuration (default 3)")
    ablate.add_argument("--workers", type=int, default=1, help="runs trained in parallel processes (default 1)")
    _common(ablate)

    sub.add_parser("presets", help="list the presets and their switches")
    sub.add_parser("switches", help="list the code-level switches")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", default="Hopper-v5", help="Gymnasium environment id (default Hopper-v5)")
    parser.add_argument("--steps", type=int, default=1_000_000, help="environment steps per run (default 1,000,000)")
    parser.add_argument("--num-envs", type=int, default=1, help="vectorized environments per run (default 1)")
    parser.add_argument("--checkpoint-every", type=int, default=10, help="iterations between checkpoints (default 10)")
    parser.add_argument("--store", help="results directory or database URL (default ./tony-results)")


def run(args: argparse.Namespace) -> int:
    """Run `tony rl ...`; TonyErrors propagate to the caller, which prints them and exits 2."""
    from tony.rl import api

    if args.rl_command == "presets":
        names = list(api.switches())
        for preset in api.presets():
            on = [n for n in names if preset.switches.get(n)]
            print(f"  {preset.name:<11} {preset.algo:<5} {preset.description}")
            print(f"  {'':<17} on: {', '.join(on) or 'none'}")
        return 0
    if args.rl_command == "switches":
        for name, what in api.switches().items():
            print(f"  {name:<18} {what}")
        return 0
    if args.rl_command == "train":
        specs = [api.make_spec(args.preset, env=args.env, total_steps=args.steps, seed=args.seed,
                               switches=api.parse_switches(args.switch), num_envs=args.num_envs)]
        workers = 1
    else:
        flips = args.flip
        api.parse_switches([f"{name}=on" for name in flips])  # unknown names fail before any run
        specs = api.ablation_specs(args.preset or ["PPO", "PPO-M", "TRPO", "TRPO+"], flips, range(args.seeds),
                                   env=args.env, total_steps=args.steps, num_envs=args.num_envs)
        workers = args.workers
    failed = 0
    try:
        for result in api.ablate(specs, args.store, workers=workers, checkpoint_every=args.checkpoint_every):
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
