"""The one interface between the site builder and the domains: a function from the store to pages.

A domain registers a page source (kind "report" in the registry). The builder calls it with the
open store; it yields `Page`s, written as they are, and `PageTask`s, picklable pieces of work the
builder runs in worker processes (a run's thousands of drill-down pages), each yielding more pages.
The builder wraps every page body in the site's layout; a body is HTML that its domain has already
escaped (see `tony.report.html`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tony.core.store import Store

_SAFE_PATH = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*\.html")
_SAFE_ASSET = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*\.wav")


@dataclass(frozen=True)
class Page:
    """One HTML page of the site."""

    path: str
    """Where it goes, relative to the site's root, e.g. "lm/index.html" (letters, digits, . _ - and /)."""
    title: str
    """The page's title (plain text; the layout escapes it)."""
    body: str
    """The page's content: HTML with everything from a model or a dataset already escaped."""
    summary: str = ""
    """Plain text; when given, the page is listed in the navigation and on the index with it."""


@dataclass(frozen=True)
class Asset:
    """A file a page plays or shows (a spoken prompt's WAV), copied into the site beside it."""

    path: str
    """Where it goes, relative to the site's root: a safe path like a page's, ending in .wav."""
    source: Path
    """The file copied there (a store artifact); several pages may name one content-hashed asset."""


@dataclass(frozen=True)
class PageTask:
    """Pages made in a worker process: ``make(*args)`` yields them. `make` must be a module-level
    function and `args` picklable (e.g. the store's URL, not the open store)."""

    make: Callable[..., Iterable[Page | Asset]]
    args: tuple[Any, ...]


PageSource = Callable[["Store"], Iterable[Page | PageTask]]
"""What a domain registers: the store in, its pages (or tasks that make them) out."""


def check_path(path: str) -> str:
    """`path` if it is a safe relative page path; ValueError (a domain's bug) otherwise."""
    if not _SAFE_PATH.fullmatch(path) or path == "index.html":
        raise ValueError(f"page path {path!r} is not a relative path of letters, digits, . _ - ending in .html "
                         "(index.html is the builder's)")
    return path


def check_asset_path(path: str) -> str:
    """`path` if it is a safe relative asset path; ValueError (a domain's bug) otherwise."""
    if not _SAFE_ASSET.fullmatch(path):
        raise ValueError(f"asset path {path!r} is not a relative path of letters, digits, . _ - ending in .wav")
    return path


def root_of(path: str) -> str:
    """The relative link from the page at `path` to the site's root ("" or "../", ...)."""
    return "../" * path.count("/")


def grouped_runs(store: Store, kind: str, group_of: Callable[[dict[str, Any]], str]
                 ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """The complete runs of `kind` grouped by `group_of(run)`, groups in sorted order, and every such run's stat
    rows (`Store.stats_by_run`, which has a key for every run, so its length counts them): what a domain page with
    one section per setting reads. ({}, {}) when none."""
    runs = store.runs("complete", kind=kind)
    groups: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault(group_of(run), []).append(run)
    return dict(sorted(groups.items())), store.stats_by_run(r["run_id"] for r in runs) if runs else {}
