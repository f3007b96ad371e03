"""The public API, for every domain: run specs, their stats, the data sets, the results site, the installation check.
The CLI is a thin layer over these functions. Each domain has its own API beside it (`tony.lm.api`, `tony.icl.api`,
`tony.rl.api`); the language-model functions `plan`, `records` and `compare` are re-exported here, where they were.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from tony.core.executors import run_specs
from tony.core.runner import RunResult
from tony.core.spec import RunnableSpec
from tony.core.store import Store
from tony.lm.api import compare, plan, records

__all__ = ["RESULT_FIELDS", "compare", "datasets", "doctor", "plan", "records", "report", "results", "run", "serve"]

if TYPE_CHECKING:
    from tony.report import BuiltSite, SiteServer

RESULT_FIELDS = ("run", "scenario", "model", "method", "metric", "split", "subgroup", "value", "ci_low", "ci_high", "n",
                 "family", "variant", "higher_is_better")
"""The fields of a `results` row, in the order of its CSV columns."""


def run(specs: Sequence[RunnableSpec], store: str | None = None, *, workers: int = 1, batch_size: int = 8,
        executor: str = "local", ray_address: str | None = None) -> Iterator[RunResult]:
    """Execute specs (resuming stored work) on `executor` ("local" or "ray", `tony.core.executors.run_specs`);
    yields each run's result in the order of `specs`. Bad settings raise at once."""
    return run_specs(specs, store, executor=executor, workers=workers, batch_size=batch_size, ray_address=ray_address)


def datasets() -> list[dict[str, Any]]:
    """Every public data set tony knows (registry kind "dataset"): found, partial or missing under the data root,
    its files, rows, license and where the original lives."""
    from tony.core.registry import registry

    return [entry.load().status() for entry in registry.entries("dataset")]


def results(store: str | None = None, *, run_ids: list[str] | None = None, everything: bool = False) -> list[dict]:
    """Stat rows of every domain: run, scenario, model, method, metric (the stat's display name), split,
    subgroup, value, ci_low, ci_high, n, family, variant (None for the unperturbed instances, "worst" for a
    family's worst case) and higher_is_better (the metric's declared direction; None where the best value is a
    target, as BBQ's bias 0, or where no value is better).

    Without `everything`, no detail rows: none of one few-shot draw, one subgroup or one perturbation's variants
    (`tony.core.stat_id.StatId.is_detail`).
    """
    from tony.core.stat_id import StatId

    opened = Store(store, create=False)  # a mistyped --store is an error, not a new empty store
    ids = [opened.find_run(r)["run_id"] for r in run_ids] if run_ids else None
    rows = []
    for row in opened.stats(ids):
        if not everything and StatId.of_row(row).is_detail:
            continue
        labels = row["labels"]
        rows.append({
            "run": row["run_id"][:12], "scenario": labels.get("scenario", ""), "model": labels.get("model", ""),
            "method": labels.get("method", ""), "metric": row["name"], "split": row["split"],
            "subgroup": row["subgroup"], "value": row["value"], "ci_low": row["ci_low"], "ci_high": row["ci_high"],
            "n": row["n"], "family": row["family"], "variant": row["variant"] or None,
            "higher_is_better": row["higher_is_better"],
        })
    return rows


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
