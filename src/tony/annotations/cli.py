"""`tony annotations multilabel|replication`: each subcommand lives beside its study and is imported lazily."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

# subcommand -> module with add_parser(subparsers) (argparse only) and run(args) -> exit code
SUBCOMMANDS = {
    "multilabel": "tony.annotations.multilabel.cli",
    "replication": "tony.annotations.replication.cli",
}


def add_commands(commands: Any) -> None:
    """Add `annotations` and its subcommands to the top-level subparsers `commands`."""
    annotations = commands.add_parser("annotations", help="benchmark fidelity from annotations and predictions")
    sub = annotations.add_subparsers(dest="annotations_command", required=True, parser_class=type(annotations))
    for module in SUBCOMMANDS.values():
        importlib.import_module(module).add_parser(sub)


def run(args: argparse.Namespace) -> int:
    return importlib.import_module(SUBCOMMANDS[args.annotations_command]).run(args)
