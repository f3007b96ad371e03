"""`tony safety grade` and `tony safety scorecard`: parses, calls `tony.safety`, prints.

Imports nothing beyond argparse until run."""

from __future__ import annotations

import argparse
from typing import Any

GRADER_NAMES = ("rules", "xstest-strings", "judge")
"""Shown in --help; the names themselves are checked by `tony.safety.graders.grader` (a one-line error)."""


def add_commands(commands: Any) -> None:
    """Add `safety` and its subcommands to the top-level subparsers `commands`."""
    safety = commands.add_parser("safety", help="system-card safety evaluations: grade refusals, the "
                                 "preparedness scorecard")
    sub = safety.add_subparsers(dest="safety_command", required=True, parser_class=type(safety))
    grade = sub.add_parser("grade", help="label completions made elsewhere full_compliance / full_refusal / "
                           "partial_refusal (a CSV or JSONL file with prompt and completion columns)")
    grade.add_argument("file", help="a .csv or .jsonl file: `prompt`, `completion`, optional `id` and `label` "
                       "(reference labels: adds agreement, a confusion matrix and Cohen's kappa)")
    grade.add_argument("--grader", default="rules",
                       help=f"{' | '.join(GRADER_NAMES)} (default rules: offline; judge: a language model)")
    grade.add_argument("--judge-model", help="the judge's model: a name from `tony ls model`, optionally with "
                       "arguments as NAME:key=value,... (default smollm2-135m-instruct)")
    grade.add_argument("--store", help="results directory or database URL caching the judge's answers "
                       "(default ./tony-results)")
    grade.add_argument("--format", choices=["table", "json"], default="table")
    card = sub.add_parser("scorecard", help="the preparedness scorecard: each risk category's level from the "
                          "stored safety runs, pre- and post-mitigation side by side")
    card.add_argument("--store", help="results directory or database URL (default ./tony-results)")
    card.add_argument("--thresholds", help="a YAML file of categories, levels and thresholds replacing the "
                      "illustrative default (tony/safety/data/preparedness.yaml shows the format)")
    card.add_argument("--model", help="only this model (as `tony results` names it)")
    card.add_argument("--format", choices=["table", "json"], default="table")


def run(args: argparse.Namespace) -> int:
    """Run `tony safety ...`; TonyErrors propagate to the caller, which prints them and exits 2."""
    if args.safety_command == "grade":
        return _grade(args)
    if args.safety_command == "scorecard":
        return _scorecard(args)
    raise AssertionError(f"unhandled safety command {args.safety_command}")


def _grade(args: argparse.Namespace) -> int:
    import json

    from tony.core.errors import SpecError
    from tony.safety.grade import grade_file
    from tony.safety.graders import grader

    options: dict[str, Any] = {}
    if args.grader == "judge":
        options = {"store": args.store} | ({"model": args.judge_model} if args.judge_model else {})
    elif args.judge_model or args.store:
        flag = "--judge-model" if args.judge_model else "--store"
        raise SpecError(f"{flag} is for --grader judge only; drop it or add --grader judge")
    result = grade_file(args.file, grader(args.grader, **options))
    _write(json.dumps(result, indent=1, ensure_ascii=False) if args.format == "json" else _table(result))
    return 0


def _scorecard(args: argparse.Namespace) -> int:
    import json

    from tony.core.store import Store
    from tony.safety.scorecard import format_table, score, to_json
    from tony.safety.thresholds import load_thresholds

    thresholds = load_thresholds(args.thresholds)  # a bad file fails before the store is opened
    cards = score(Store(args.store, create=False), thresholds, args.model)
    _write(json.dumps(to_json(cards, thresholds), indent=1, ensure_ascii=False) if args.format == "json"
           else format_table(cards, thresholds))
    return 0


def _write(text: str) -> None:
    import os
    import sys

    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (`| head`) has what it wanted: stop quietly, as other command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _cell(value: Any, width: int) -> str:
    """`value` on one line (line breaks and other control characters escaped), cut to `width` characters."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(result: dict[str, Any]) -> str:
    rows, summary = result["rows"], result["summary"]
    columns = ["id", "label"] + [c for c in ("reference_label", "judge_raw") if rows and c in rows[0]]
    widths = {"id": 24, "label": 16, "reference_label": 16, "judge_raw": 40}
    lines = ["  ".join(f"{c:<{widths[c]}}" for c in columns)]
    lines += ["  ".join(f"{_cell(row.get(c, ''), widths[c]):<{widths[c]}}" for c in columns) for row in rows]
    counts = ", ".join(f"{label} {n}" for label, n in summary["counts"].items())
    lines.append(f"{summary['n']} rows graded by {summary['grader']}: {counts}")
    if "agreement" in summary:
        kappa = "undefined" if summary["kappa"] is None else f"{summary['kappa']:.3f}"
        rate = "n/a" if summary["agreement"] is None else f"{summary['agreement']:.3f}"
        left_out = f"; {summary['not_compared']} unparseable left out" if summary["not_compared"] else ""
        lines.append(f"agreement with the label column {rate} over {summary['compared']} rows, "
                     f"Cohen's kappa {kappa}{left_out}")
        labels = summary["confusion"]["labels"]
        lines.append("confusion (rows: reference label, columns: grader label)")
        lines.append(" " * 17 + "".join(f"{label:>17}" for label in labels))
        lines += [f"{label:<17}" + "".join(f"{n:>17}" for n in counts_row)
                  for label, counts_row in zip(labels, summary["confusion"]["matrix"], strict=True)]
    return "\n".join(lines)
