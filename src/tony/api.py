"""The public API; the CLI is a thin layer over these functions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from tony.core.errors import SpecError
from tony.core.executors import RunnableSpec, run_local
from tony.core.runner import RunResult
from tony.core.store import Store

if TYPE_CHECKING:
    from tony.report import BuiltSite, SiteServer

RESULT_FIELDS = ("run", "scenario", "model", "method", "metric", "split", "subgroup", "value", "ci_low", "ci_high", "n")


def plan(entries: list[str], *, on_missing_data: Callable[[str, Exception], None] | None = None,
         **overrides: Any) -> list[RunnableSpec]:
    """Specs from run entries and suite files; overrides (max_instances, seed, model, ...) apply to all.

    With `on_missing_data`, entries whose data is not installed are told to it and left out instead of raising.
    """
    from tony.lm.suite import specs_from_arguments

    return specs_from_arguments(entries, {k: v for k, v in overrides.items() if v is not None},
                                on_missing_data=on_missing_data)


def run(specs: list[RunnableSpec], store: str | None = None, *, workers: int = 1, batch_size: int = 8) -> Iterator[
    RunResult
]:
    """Execute specs (resuming stored work); yields each run's result as it ends. Bad settings raise at once."""
    return run_local(specs, store, workers=workers, batch_size=batch_size)


def datasets() -> list[dict[str, Any]]:
    """Every public data set tony knows (registry kind "dataset"): found, partial or missing under the data root,
    its files, rows, license and where the original lives."""
    from tony.core.registry import registry

    return [entry.load().status() for entry in registry.entries("dataset")]


def results(store: str | None = None, *, run_ids: list[str] | None = None, everything: bool = False) -> list[dict]:
    """Stat rows: run, scenario, model, method, metric, split, subgroup, value, ci_low, ci_high, n.

    Without `everything`, only whole-run rows (with the robustness and fairness worst cases) and the
    spread across few-shot draws: no per-draw, per-subgroup, per-perturbation, per-coverage or
    baseline rows.
    """
    opened = Store(store, create=False)  # a mistyped --store is an error, not a new empty store
    ids = [opened.find_run(r)["run_id"] for r in run_ids] if run_ids else None
    rows = []
    for row in opened.stats(ids):
        where = row["name"].partition("@")[2]
        if not everything and (row["split"] not in ("", "draws") or row["subgroup"]
                               or where not in ("", "robustness", "fairness")):
            continue
        labels = row["labels"]
        rows.append({
            "run": row["run_id"][:12], "scenario": labels.get("scenario", ""), "model": labels.get("model", ""),
            "method": labels.get("method", ""), "metric": row["name"], "split": row["split"],
            "subgroup": row["subgroup"], "value": row["value"], "ci_low": row["ci_low"], "ci_high": row["ci_high"],
            "n": row["n"],
        })
    return rows


def records(store: str | None = None, run_ids: list[str] | None = None, *, batch: int = 500) -> Iterator[dict]:
    """Every stored record of the language-model runs (those whose id starts with one of `run_ids`; all when
    None), one flat row each: run, scenario, model, method, instance_id, draw, split, subgroup, perturbation
    (None for the original), prompt, prediction, correct, stats, extra (see tony.lm.export).

    The store and run ids are checked here, before the first row; the rows then stream from the store
    `batch` records at a time, so memory does not grow with the number of records. A store that does not
    exist is a StoreError and is not created.
    """
    from tony.lm.export import KIND, export_row

    opened = Store(store, create=False)
    if run_ids:
        runs = [opened.find_run(prefix) for prefix in run_ids]
        for run in runs:
            if run["kind"] != KIND:
                raise SpecError(f"run {run['run_id'][:12]} is of kind '{run['kind']}': `tony records` exports "
                                "language-model runs (see `tony results`)")
    else:
        runs = opened.runs(kind=KIND)
    by_id = {run["run_id"]: run for run in runs}
    return (export_row(by_id[record.run_id], record) for record in opened.iter_records(list(by_id), batch=batch))


def compare(run_a: str, run_b: str, store: str | None = None, *, metrics: list[str] | None = None) -> dict[
    str, list
]:
    """Run A against run B, every metric family: {"paired": [PairedComparison], "unpaired": [StatComparison]}.

    Per-instance metrics are paired over the instances both runs share (paired bootstrap; McNemar
    for 0/1 metrics); whole-run stats (calibration, bias, toxicity, ...) are set side by side with
    their intervals. ``metrics`` limits the paired part to those names.
    """
    from tony.lm.compare import compare_records, compare_stats

    opened = Store(store, create=False)
    a, b = opened.find_run(run_a), opened.find_run(run_b)
    paired = compare_records(opened.records(a["run_id"]), opened.records(b["run_id"]), metrics)
    if not paired:
        raise SpecError(f"runs {run_a} and {run_b} share no instances or metrics: compare runs of the same "
                        "scenario and seed (and check --metric against `tony results`)")
    unpaired = [] if metrics else compare_stats(
        opened.stats([a["run_id"]]), opened.stats([b["run_id"]]), skip={c.metric for c in paired}
    )
    return {"paired": paired, "unpaired": unpaired}


def report(store: str | None = None, out: str | None = None, *, workers: int | None = None) -> BuiltSite:
    """Build the results site (leaderboard, run pages, per-instance drill-down) of `store` in `out`
    (default ./tony-results/site); returns a `tony.report.BuiltSite`. Page work runs in `workers`
    processes (default one per CPU)."""
    from pathlib import Path

    from tony.core.errors import ReportError
    from tony.core.store_schema import DEFAULT_STORE_DIR
    from tony.report import DEFAULT_SITE_DIR, build_site

    if not (store and "://" in store) and not (Path(store or DEFAULT_STORE_DIR) / "tony.sqlite").is_file():
        raise ReportError(f"no results store in {store or DEFAULT_STORE_DIR}: `tony run ...` creates one "
                          "(or give --store)")
    opened = Store(store)
    if not opened.runs():
        raise ReportError(f"no runs in {opened.describe()} yet: `tony run ...` stores some, then `tony report`")
    return build_site(opened, out or DEFAULT_SITE_DIR, workers=workers)


def serve(out: str | None = None, *, port: int = 8765) -> SiteServer:
    """A `tony.report.SiteServer` for the site built in `out` (default ./tony-results/site), bound to
    127.0.0.1:`port` (0: any free port); call its serve_forever()."""
    from pathlib import Path

    from tony.core.errors import ReportError
    from tony.report import DEFAULT_SITE_DIR, SiteServer

    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ReportError(f"port {port!r} is not a TCP port: give 1-65535 (or 0 for any free one)")
    site = Path(out or DEFAULT_SITE_DIR)
    if not (site / "index.html").is_file():
        raise ReportError(f"no site in {site}: `tony report` builds one (or give --out)")
    try:
        return SiteServer(site, port)
    except OSError as err:
        raise ReportError(f"cannot serve on 127.0.0.1:{port} ({err.strerror}): choose another --port") from None


def doctor(store: str | None = None, *, load: bool = False) -> list[Any]:
    """Check the installation: Python, each extra's modules, the two embedded models, the data root, the store
    (`store`, default ./tony-results: opened read-only, or checked creatable; a database URL reachable) and the
    Debian packages the tests use. Each `tony.doctor.Check` has name, ok, detail, the fix command and whether it
    is required. Nothing is downloaded or created; `load` also imports each extra and loads each embedded model
    through llama.cpp to score one request (seconds)."""
    from tony.doctor import run_checks

    return run_checks(store, load=load)
