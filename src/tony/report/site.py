"""The site builder: every registered page source's pages, wrapped in the layout, written to a folder.

It names no domain: page sources come from the registry (kind "report"). The site is built in a
staging folder beside the target and swapped in when complete, so a half-built site is never
served; a folder that is not a tony site is never replaced.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tony import __version__
from tony.core.errors import ReportError
from tony.core.registry import registry
from tony.core.store import Store
from tony.core.store_schema import DEFAULT_STORE_DIR
from tony.report.html import link, table, text
from tony.report.layout import NavEntry, render
from tony.report.pages import Asset, Page, PageSource, PageTask, check_asset_path, check_path

DEFAULT_SITE_DIR = Path(DEFAULT_STORE_DIR) / "site"
MARKER = ".tony-site"
"""A file in every built site: only a folder holding it (or an empty one) is replaced by a rebuild."""


@dataclass(frozen=True)
class BuiltSite:
    """What `build_site` wrote."""

    path: Path
    pages: int
    runs: int
    seconds: float


def page_sources() -> list[PageSource]:
    """Every registered page source (kind "report"), in name order."""
    return [entry.load() for entry in registry.entries("report")]


def build_site(store: Store, out: Path | str = DEFAULT_SITE_DIR, *, sources: Sequence[PageSource] | None = None,
               workers: int | None = None) -> BuiltSite:
    """Write the site for `store` to `out`: index.html, static/, and every page source's pages.

    Page tasks run in up to `workers` processes (default: one per CPU); 1 runs them here.
    """
    start = time.perf_counter()
    out = Path(out)
    _check_replaceable(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
        staging.chmod(0o755)  # mkdtemp's folder is private; a site is for reading
    except OSError as err:
        raise ReportError(f"cannot write the site under {out.parent}: {err.strerror}; choose another --out") from None
    try:
        pages: list[Page] = []
        tasks: list[PageTask] = []
        for source in page_sources() if sources is None else sources:
            for item in source(store):
                if isinstance(item, PageTask):
                    tasks.append(item)
                else:
                    pages.append(item)
        nav = [NavEntry(p.path, p.title) for p in pages if p.summary]
        footer = f"tony {__version__} \u00b7 {store.describe()} \u00b7 built {time.strftime('%Y-%m-%d %H:%M:%S')}"
        written = _write_pages(staging, pages, nav, footer)
        written += _run_tasks(staging, tasks, nav, footer, workers)
        runs = store.runs()
        index = Page("index.html", "Results", _index_body(store, runs, pages))
        (staging / "index.html").write_text(render(index, nav, footer), encoding="utf-8")
        _copy_static(staging / "static")
        (staging / MARKER).write_text("built by `tony report`; rebuilt in place\n", encoding="utf-8")
        _swap(staging, out)
    except BaseException as err:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(err, OSError):  # a full disk, a folder another build is replacing, ...
            raise ReportError(f"cannot write the site to {out}: {err.strerror or err}") from None
        raise
    return BuiltSite(out, written + 1, len(runs), time.perf_counter() - start)


def _write_pages(root: Path, pages: Iterable[Page | Asset], nav: list[NavEntry], footer: str) -> int:
    """Write `pages` (counted) and copy their assets (not counted)."""
    count = 0
    for page in pages:
        if isinstance(page, Asset):
            _copy_asset(root, page)
            continue
        target = root / check_path(page.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Exclusive creation: two pages at one path are a page source's bug, never a silent overwrite.
            with open(target, "x", encoding="utf-8", errors="backslashreplace") as handle:
                handle.write(render(page, nav, footer))
        except FileExistsError:
            raise ValueError(f"two pages at {page.path}: each page source must give each page its own path") from None
        count += 1
    return count


def _copy_asset(root: Path, asset: Asset) -> None:
    target = root / check_asset_path(asset.path)
    if target.exists():  # content-hashed: pages of several runs may name one asset, and its bytes are the same
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    # A temporary name of this worker's own, renamed whole: two workers copying one asset never see half a file.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copyfile(asset.source, tmp)
    tmp.replace(target)


def _run_task(root: Path, task: PageTask, nav: list[NavEntry], footer: str) -> int:
    return _write_pages(root, task.make(*task.args), nav, footer)


def _run_tasks(root: Path, tasks: list[PageTask], nav: list[NavEntry], footer: str, workers: int | None) -> int:
    workers = min(len(tasks), workers or os.cpu_count() or 1)
    if workers <= 1:
        return sum(_run_task(root, task, nav, footer) for task in tasks)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_run_task, root, task, nav, footer) for task in tasks]
        return sum(f.result() for f in futures)


def _index_body(store: Store, runs: list[dict], pages: list[Page]) -> str:
    sections = "".join(f"<li>{link(p.path, p.title)}<p>{text(p.summary)}</p></li>" for p in pages if p.summary)
    counts = Counter((r["kind"], r["status"]) for r in runs)
    kinds = sorted({kind for kind, _ in counts})
    statuses = ["complete", "running", "failed"]
    rows = [[text(kind), *(str(counts[kind, s]) for s in statuses)] for kind in kinds]
    return (f"<h1>Results</h1><p>{len(runs)} runs in {text(store.describe())}.</p>"
            f'<ul class="sections">{sections}</ul><h2>Runs by kind</h2>{table(["kind", *statuses], rows)}')


def _copy_static(target: Path) -> None:
    target.mkdir()
    for item in resources.files("tony.report").joinpath("static").iterdir():
        if item.is_file():
            (target / item.name).write_bytes(item.read_bytes())


def _check_replaceable(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise ReportError(f"{out} exists and is not a site `tony report` built; choose another --out "
                          "(a rebuild replaces the folder)")


def _swap(staging: Path, out: Path) -> None:
    """Put the finished site at `out`, replacing the previous build."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    staging.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
