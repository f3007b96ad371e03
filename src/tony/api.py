"""The public API; the CLI is a thin layer over these functions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tony.core.errors import SpecError
from tony.core.executors import RunnableSpec, run_local
from tony.core.runner import RunResult
from tony.core.stats import PairedComparison, compare_paired
from tony.core.store import Store

RESULT_FIELDS = ("run", "scenario", "model", "method", "metric", "split", "subgroup", "value", "ci_low", "ci_high", "n")


def plan(entries: list[str], **overrides: Any) -> list[RunnableSpec]:
    """Specs from run entries and suite files; overrides (max_instances, seed, model, ...) apply to all."""
    from tony.lm.suite import specs_from_arguments

    return specs_from_arguments(entries, {k: v for k, v in overrides.items() if v is not None})


def run(specs: list[RunnableSpec], store: str | None = None, *, workers: int = 1, batch_size: int = 8) -> Iterator[
    RunResult
]:
    """Execute specs (resuming stored work); yields each run's result as it ends."""
    yield from run_local(specs, store, workers=workers, batch_size=batch_size)


def results(store: str | None = None, *, run_ids: list[str] | None = None, everything: bool = False) -> list[dict]:
    """Stat rows: run, scenario, model, method, metric, split, subgroup, value, ci_low, ci_high, n.

    Without `everything`, only whole-run rows and the spread across few-shot draws (no per-draw,
    per-subgroup or per-coverage rows).
    """
    opened = Store(store)
    ids = [opened.find_run(r)["run_id"] for r in run_ids] if run_ids else None
    rows = []
    for row in opened.stats(ids):
        if not everything and (row["split"] not in ("", "draws") or row["subgroup"] or "@" in row["name"]):
            continue
        labels = row["labels"]
        rows.append({
            "run": row["run_id"][:12], "scenario": labels.get("scenario", ""), "model": labels.get("model", ""),
            "method": labels.get("method", ""), "metric": row["name"], "split": row["split"],
            "subgroup": row["subgroup"], "value": row["value"], "ci_low": row["ci_low"], "ci_high": row["ci_high"],
            "n": row["n"],
        })
    return rows


def compare(run_a: str, run_b: str, store: str | None = None, *, metrics: list[str] | None = None) -> list[
    PairedComparison
]:
    """Paired comparison of two runs on the instances they share (paired bootstrap; McNemar for 0/1 metrics)."""
    opened = Store(store)
    a, b = opened.find_run(run_a), opened.find_run(run_b)
    records_a = {r["item_id"]: r for r in opened.records(a["run_id"])}
    records_b = {r["item_id"]: r for r in opened.records(b["run_id"])}
    shared = sorted(set(records_a) & set(records_b))
    if not shared:
        raise SpecError(f"runs {run_a} and {run_b} share no instances: compare runs of the same scenario and seed")
    names = metrics or sorted(set.intersection(*(set(records_a[i]["stats"]) & set(records_b[i]["stats"])
                                                  for i in shared)))
    comparisons = []
    for name in names:
        pairs = [(records_a[i]["stats"][name], records_b[i]["stats"][name]) for i in shared
                 if name in records_a[i]["stats"] and name in records_b[i]["stats"]]
        if not pairs:
            raise SpecError(f"metric '{name}' is not in both runs; they have {sorted(names)}")
        comparisons.append(compare_paired(name, [p[0] for p in pairs], [p[1] for p in pairs], seed=0))
    return comparisons
