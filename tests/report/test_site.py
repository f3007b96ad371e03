"""The domain-free site builder: layout, navigation, index, static files, tasks, safe rebuilds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lm_runs import add_lm_run, stat

from tony.core.errors import ReportError
from tony.core.store import Store
from tony.report import Page, PageTask, build_site
from tony.report.pages import grouped_runs
from tony.report.site import MARKER, page_sources


def make_pages(prefix: str, count: int) -> Iterator[Page]:
    """A page task's work (module level, so worker processes can import it)."""
    for i in range(count):
        yield Page(f"demo/{prefix}-{i}.html", f"{prefix} {i}", f"<p>{prefix} page {i}</p>")


def demo_source(store: Store) -> Iterator[Page | PageTask]:
    yield Page("demo/index.html", "Demo board", "<p>board</p>", summary="A <demo> section")
    yield Page("demo/about.html", "About", "<p>about</p>")
    yield PageTask(make_pages, ("a", 3))
    yield PageTask(make_pages, ("b", 2))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store(str(tmp_path / "store"))
    opened.begin_run("r1", "demo", {}, {})
    opened.finish_run("r1", [], wall_s=1.0)
    opened.begin_run("r2", "demo", {}, {})
    return opened


@pytest.mark.parametrize("workers", [1, 2])
def test_build_writes_pages_index_static_and_marker(store: Store, tmp_path: Path, workers: int):
    out = tmp_path / "site"
    built = build_site(store, out, sources=[demo_source], workers=workers)
    assert built.pages == 8 and built.runs == 2 and built.path == out
    assert sorted(p.name for p in (out / "demo").iterdir()) == [
        "a-0.html", "a-1.html", "a-2.html", "about.html", "b-0.html", "b-1.html", "index.html"]
    assert (out / MARKER).exists() and (out / "static" / "site.css").exists() and (out / "static" / "site.js").exists()
    index = (out / "index.html").read_text()
    assert 'href="demo/index.html"' in index and "A &lt;demo&gt; section" in index and "2 runs" in index
    page = (out / "demo" / "a-1.html").read_text()
    # Links are relative to the page: the layout reaches the root from demo/.
    assert 'href="../static/site.css"' in page and 'href="../index.html"' in page
    assert 'href="../demo/index.html"' in page
    assert "<title>a 1 - tony</title>" in page and "<p>a page 1</p>" in page
    assert "Content-Security-Policy" in page


def test_rebuild_replaces_the_previous_site(store: Store, tmp_path: Path):
    out = tmp_path / "site"
    build_site(store, out, sources=[demo_source], workers=1)
    (out / "demo" / "stale.html").write_text("old")
    build_site(store, out, sources=[demo_source], workers=1)
    assert not (out / "demo" / "stale.html").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left behind


def test_a_folder_that_is_not_a_site_is_never_replaced(store: Store, tmp_path: Path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(ReportError, match="is not a site"):
        build_site(store, out, sources=[demo_source])
    assert (out / "thesis.tex").read_text() == "precious"


def test_a_failed_build_leaves_the_old_site_and_no_staging(store: Store, tmp_path: Path):
    out = tmp_path / "site"
    build_site(store, out, sources=[demo_source], workers=1)

    def broken(_store: Store) -> Iterator[Page]:
        yield Page("demo/x.html", "x", "")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        build_site(store, out, sources=[broken], workers=1)
    assert (out / "demo" / "about.html").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("path", ["../x.html", "/abs.html", "a/../b.html", "index.html", "x.js", "a//b.html",
                                  ".hidden.html", "sp ace.html"])
def test_unsafe_page_paths_are_a_source_bug(store: Store, tmp_path: Path, path: str):
    with pytest.raises(ValueError, match="page path"):
        build_site(store, tmp_path / "site", sources=[lambda _s: [Page(path, "t", "")]], workers=1)


def test_two_pages_at_one_path_are_a_source_bug(store: Store, tmp_path: Path):
    twice = [Page("d/p.html", "t", ""), Page("d/p.html", "t", "")]
    with pytest.raises(ValueError, match="two pages at d/p.html"):
        build_site(store, tmp_path / "site", sources=[lambda _s: twice], workers=1)


def test_page_sources_come_from_the_registry():
    from tony.lm.report import lm_pages

    assert lm_pages in page_sources()


def test_grouped_runs_reads_complete_runs_of_a_kind_by_group_with_their_stats(tmp_path: Path):
    store = Store(str(tmp_path / "store"))
    assert grouped_runs(store, "lm", lambda run: "x") == ({}, {})
    first = add_lm_run(store, scenario="b", model="m", stats=[stat("accuracy", 0.5)])
    second = add_lm_run(store, scenario="a", model="m")
    third = add_lm_run(store, scenario="b", model="n")
    add_lm_run(store, scenario="a", model="o", status="failed")
    groups, stats = grouped_runs(store, "lm", lambda run: run["labels"]["scenario"])
    assert list(groups) == ["a", "b"]  # sorted, whatever the order stored
    assert [r["run_id"] for r in groups["a"]] == [second]
    assert sorted(r["run_id"] for r in groups["b"]) == sorted([first, third])
    assert set(stats) == {first, second, third} and [s["name"] for s in stats[first]] == ["accuracy"]
    assert stats[second] == [] and grouped_runs(store, "icl", lambda run: "x") == ({}, {})
