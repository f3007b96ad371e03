"""`--executor`, `--ray-address` (and `--workers`) for every command that runs many specs: argparse only, so that
building the parser imports nothing heavy. The command passes `executor_settings(args)` to its domain's API,
which hands them to `tony.core.executors.run_specs`."""

from __future__ import annotations

import argparse
from typing import Any

EXECUTOR_CHOICES = ("local", "ray")
"""As `tony.core.executors.EXECUTORS` (not imported from there: that module imports the runner and the store)."""


def add_executor_options(parser: argparse.ArgumentParser, *, workers: bool = False) -> None:
    """Add --executor and --ray-address to `parser`; with `workers`, --workers too (for a command without one)."""
    parser.add_argument("--executor", choices=EXECUTOR_CHOICES, default="local",
                        help="local: processes on this machine (default); ray: each run a Ray task, on a cluster "
                             "of --workers CPUs started on 127.0.0.1 for the command, or on --ray-address")
    parser.add_argument("--ray-address", metavar="HOST:PORT",
                        help="join this Ray cluster (with --executor ray); its results need a PostgreSQL --store")
    if workers:
        parser.add_argument("--workers", type=int, default=1,
                            help="runs at once: processes, or the CPUs of the local Ray cluster (default 1)")


def executor_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of `run_specs` (and of each domain's API) that --executor and --ray-address set
    (--workers is passed by each command, as it was before Ray)."""
    return {"executor": args.executor, "ray_address": args.ray_address}
