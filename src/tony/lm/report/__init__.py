"""The language-model domain's pages of the results site (registered as report source "lm").

- lm/index.html: the leaderboard (models x scenarios, a tab per metric family, baselines, win rates);
- lm/run-<id>.html: a run's spec, stats and plots, made with its drill-down in a worker process;
- lm/run-<id>-p<k>.html: the drill-down, GROUPS_PER_PAGE instances a page.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from tony.core.store import Store
from tony.report.pages import Asset, Page, PageTask

KIND = "lm"


def lm_pages(store: Store) -> Iterator[Page | PageTask]:
    """The leaderboard now, and one task per run for its page and drill-down."""
    from tony.lm.report.leaderboard import leaderboard_page

    runs = store.runs(kind=KIND)
    if not runs:
        return
    stats = store.stats([r["run_id"] for r in runs])
    counts = {r["run_id"]: store.count_records(r["run_id"]) for r in runs}
    yield leaderboard_page(runs, stats, counts)
    by_run: dict[str, list[dict[str, Any]]] = {}
    for row in stats:  # grouped here, not by stats_by_run: the leaderboard needs the flat rows, read once
        by_run.setdefault(row["run_id"], []).append(row)
    for run in runs:
        yield PageTask(run_pages, (store.url, run, by_run.get(run["run_id"], [])))


def run_pages(store_url: str, run: dict[str, Any], stats: list[dict[str, Any]]) -> Iterator[Page | Asset]:
    """A run's page and its drill-down pages (with the spoken prompts they play), from one pass over its records."""
    from tony.lm.report.instances import instance_pages, read_records
    from tony.lm.report.run_page import run_page

    records = read_records(_open(store_url), run["run_id"])
    yield run_page(run, stats, records)
    yield from instance_pages(run, records)


@lru_cache(maxsize=4)
def _open(url: str) -> Store:
    """One open store per URL in each worker process."""
    return Store(url)
