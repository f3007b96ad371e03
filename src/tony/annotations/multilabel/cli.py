"""`tony annotations multilabel DIR [--predictions NAME=FILE ...]`: parses, calls the api, prints.

Imports nothing but argparse until it runs.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Add `multilabel` to the `tony annotations` subparsers."""
    parser = subparsers.add_parser(
        "multilabel", help="aggregate multi-label annotations; accuracy of predictions under them",
        description="Aggregate per-annotator judgments (objects per image, main label, label groups) and, "
                    "given predictions, print standard, multi-label and main-label top-1 accuracy by first-stage "
                    "outcome, number of objects and superclass. Results go to the store.")
    parser.add_argument("data", help="data folder: classify_task.jsonl, image_categories.csv, classes.json, "
                                     "superclasses.json (see tony.annotations.multilabel.schema)")
    parser.add_argument("--predictions", action="append", default=[], metavar="[NAME=]FILE",
                        help="a model's predictions, JSONL of {image, top5, label?} (repeatable; the name "
                             "defaults to the file's stem)")
    parser.add_argument("--min-selection", type=float,
                        help="a label is valid when at least this fraction of annotators selected it (default 0.2)")
    parser.add_argument("--co-selection-threshold", type=float,
                        help="labels chosen together by fewer than this fraction of those choosing either may be "
                             "one object (default 0.5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap intervals")
    parser.add_argument("--store", help="results directory or database URL (default ./tony-results)")
    parser.add_argument("--format", choices=["table", "json"], default="table")


def run(args: argparse.Namespace) -> int:
    """Run `tony annotations multilabel`; TonyErrors propagate to tony.cli, which prints them and exits 2."""
    import json

    from tony.annotations.multilabel import api

    rules = {k: v for k, v in (("min_selection", args.min_selection),
                               ("co_selection_threshold", args.co_selection_threshold)) if v is not None}
    result = api.analyze(args.data, _named_files(args.predictions), args.store, seed=args.seed, **rules)
    summary = api.summary(result.stats)
    if args.format == "json":
        print(json.dumps({"run": result.run_id, **summary}, indent=1))
    else:
        print(_table(summary, result.run_id, result.reused))
    return 0


def _named_files(values: list[str]) -> dict[str, str]:
    from pathlib import Path

    from tony.core.errors import SpecError

    out: dict[str, str] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep:
            name, path = Path(value).stem, value
        if not name or not path:
            raise SpecError(f"--predictions '{value}' needs a file, optionally named: NAME=FILE")
        if name in out:
            raise SpecError(f"two --predictions are named '{name}'; name them apart with NAME=FILE")
        out[name] = path
    return out


def _table(summary: dict[str, Any], run_id: str, reused: bool) -> str:
    """The data set's statistics, then one accuracy table per model."""
    from tony.core.stats import interval_text
    images, multi = summary["images"], summary["multi_object_images"]
    main, (low, high) = summary["main_label_is_benchmark_label"], summary["main_label_is_benchmark_label_ci"]
    stage = summary["first_stage"]
    total = sum(stage.values())
    lines = [f"run {run_id[:12]}{' (already stored)' if reused else ''}",
             f"images with per-annotator judgments  {images}",
             f"multi-object images                  {multi} ({multi / images:.1%} of them, {multi / total:.1%} of all "
             f"{total} images)",
             f"main label is the benchmark label    {main:.3f} [{low:.3f}, {high:.3f}] of {images} "
             f"(ties broken by rule: {summary['main_label_ties']})",
             "objects per image                    " + "  ".join(f"{k}: {v}" for k, v in
                                                                summary["objects_per_image"].items()),
             f"{f'first stage ({total} images)':<37}" + "  ".join(f"{k} {v}" for k, v in stage.items())]
    for model, groups in summary["accuracy"].items():
        lines += ["", f"{model}: accuracy [95% CI]",
                  f"{'subgroup':<40}{'top1':<22}{'multilabel_top1':<22}{'main_top1':<22}{'top5':<22}"]
        for subgroup, metrics in groups.items():
            cells = [metrics.get(m) for m in ("top1", "multilabel_top1", "main_top1", "top5")]
            n = max(c["n"] for c in cells if c)
            shown = "".join(interval_text(c, missing="n/a").ljust(22) for c in cells)
            lines.append(f"{subgroup[:39]:<40}{shown}n={n}")
    return "\n".join(lines)
