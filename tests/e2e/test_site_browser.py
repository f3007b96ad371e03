"""The results site in a real headless browser (Debian's chromium, driven by Playwright).

One store of real runs (the embedded model on two cheap scenarios) checks the leaderboard against the
store, the drill-down against the stored prompts, and `tony serve`; stores written through the Store
API check sorting, escaping (with the page's CSP bypassed, so only escaping stands between a hostile
completion and the page) and a 10,000-instance run. Skipped without chromium or playwright, unless
TONY_REQUIRE_BROWSER is set (as CI sets it), which fails them instead.
"""

from __future__ import annotations

import http.client
import os
import random
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import CAPITALS, REPO, tony

from tony.core.stats import Stat
from tony.core.store import Store
from tony.lm.report import paths
from tony.report import SiteServer, build_site
from tony.report.html import number

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REQUIRE_BROWSER = "TONY_REQUIRE_BROWSER"
SCREENSHOT = REPO / "benchmarks" / "results" / "site-leaderboard.png"
"""Refreshed only when TONY_SAVE_SCREENSHOT is set (the README shows it; a plain test run leaves it alone)."""
HOSTILE = ('"><img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
           "</script><script>window.__pwned=3</script><!--")

sys.path.insert(0, str(REPO / "tests" / "report"))
from lm_runs import add_lm_run, lm_record, stat  # noqa: E402 (a helper shared with tests/report)


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_BROWSER):
        pytest.fail(f"{reason} ({REQUIRE_BROWSER} is set)", pytrace=False)
    pytest.skip(f"{reason}; `apt-get install chromium` and `pip install playwright` enable the browser tests")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"{CHROMIUM} is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that ignores the site's Content-Security-Policy: escaping alone must keep it safe."""
    context = browser.new_context(bypass_csp=True, viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], f"script errors on the page: {errors}"


@pytest.fixture(scope="module")
def real_site(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path, str]]:
    """Real runs of the embedded model, `tony report`, and the site served on 127.0.0.1 (after `browser`,
    so that a machine without one skips before running the model)."""
    root = tmp_path_factory.mktemp("real-site")
    store_dir, site = root / "store", root / "site"
    entries = ["synthetic_induction:num_instances=6,max_tokens=8",
               f"jsonl:path={CAPITALS},method=multiple_choice_joint,perturbations=typos+fairness"]
    # Both embedded models, so the leaderboard ranks two rows.
    entries += [f"{entry},model=smollm2-135m-instruct" for entry in entries]
    tony("run", *entries, "--max-instances", "8", "--store", str(store_dir), check=True)
    tony("report", "--store", str(store_dir), "--out", str(site), check=True)
    server = SiteServer(site, 0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield Store(str(store_dir)), site, server.url
    server.shutdown()
    server.server_close()


def test_leaderboard_rows_and_cells_match_the_store(real_site, page, tmp_path):
    store, _, url = real_site
    page.goto(url)
    page.get_by_role("link", name="Language models").first.click()
    page.wait_for_selector("table.leaderboard")
    stats = [s for s in store.stats() if s["subgroup"] == ""]
    models = sorted({s["labels"]["model"] for s in stats})
    families = page.locator("table.leaderboard").evaluate_all("ts => ts.map(t => t.dataset.family)")
    assert {"accuracy", "calibration", "robustness", "fairness", "efficiency"} <= set(families)
    checked = 0
    for family in families:
        table = page.locator(f'table.leaderboard[data-family="{family}"]')
        rows = table.locator("tbody.sorted th[scope=row]").all_inner_texts()
        assert sorted(rows) == models == ["gemma-3-270m", "smollm2-135m-instruct"], family
        # Two models: on each scenario one wins (or they tie, half each), so their mean win rates add up to 1.
        rates = table.locator("tbody.sorted tr").evaluate_all("trs => trs.map(tr => Number(tr.cells[1].textContent))")
        assert len(rates) == 2 and sum(rates) == pytest.approx(1.0, abs=2e-3), (family, rates)
        baselines = table.locator("tbody.baselines th[scope=row]").all_inner_texts()
        # Every cell, read from the page, against the store: [column][row] -> the value sorted by.
        cells = table.evaluate("""t => Array.from(t.querySelectorAll("th[data-scenario]")).map(th => ({
            scenario: th.dataset.scenario, method: th.dataset.method, metric: th.textContent,
            values: Array.from(t.querySelectorAll("tbody tr")).map(tr => [
                tr.querySelector("th").textContent, tr.cells[Number(th.dataset.col)].querySelector("a")?.textContent
            ])}))""")
        for column in cells:
            for name, shown in column["values"]:
                split = "" if name in rows else f"baseline:{name}"
                expected = [s["value"] for s in stats if s["name"] == column["metric"] and s["split"] == split
                            and (s["labels"]["scenario"], s["labels"]["method"]) == (column["scenario"],
                                                                                       column["method"])
                            and (split or s["labels"]["model"] == name)]
                assert shown == (number(expected[0]) if expected else None), (family, column["metric"], name)
                checked += shown is not None
        if family == "accuracy":
            assert baselines == ["chance", "majority"]
    assert checked >= 30
    page.screenshot(path=str(tmp_path / "leaderboard.png"), full_page=True)
    if os.environ.get("TONY_SAVE_SCREENSHOT"):
        shutil.copy(tmp_path / "leaderboard.png", SCREENSHOT)


def test_drill_down_shows_each_prompt_exactly_as_stored(real_site, page):
    store, _, url = real_site
    for run in store.runs():
        page.goto(url + paths.run_page(run["run_id"]))
        page.get_by_role("link", name="Instances:").click()
        page.wait_for_selector("article.instance")
        # The first instance: its original, then its perturbed variants beside it, in the order stored.
        records = store.records(run["run_id"])
        first = records[0]["instance"]["id"]
        group = [r["exchanges"][0] for r in records if r["instance"]["id"] == first and r["draw"] == 0]
        article = page.locator("article.instance").first
        assert article.locator("h3").inner_text() == first
        assert article.locator("pre.prompt").all_text_contents() == [e["request"]["prompt"] for e in group]
        if not group[0]["request"]["continuations"]:
            assert article.locator("pre.completion").all_text_contents() == [e["completion"]["text"] for e in group]
        variants = [r for r in records if r.get("perturbation")]
        assert article.locator("section.variant").count() == len(group) and (len(group) > 1) == bool(variants)
        if variants:
            page.goto(url + paths.run_page(run["run_id"]))
            assert page.locator('svg[aria-label$="under perturbation"]').is_visible()


def test_tony_serve_rejects_paths_out_of_the_site(real_site):
    _, site, _ = real_site
    server = subprocess.Popen([sys.executable, "-m", "tony.cli", "serve", "--out", str(site), "--port", "0"],
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        line = server.stdout.readline()
        assert "http://127.0.0.1:" in line
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        for path, allowed in [("/", 200), ("/lm/", 200), ("/../store/tony.sqlite", 403),
                              ("/%2e%2e/store/tony.sqlite", 403), ("/..%2fstore%2ftony.sqlite", 403),
                              ("/%252e%252e/store/tony.sqlite", 403), ("/lm/..%5c..%5cstore", 403)]:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            connection.close()
            assert response.status == allowed, path
            assert b"SQLite format" not in body
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_sorting_a_column_orders_the_rows(tmp_path, page):
    store = Store(str(tmp_path / "store"))
    values = {f"model-{i}": random.Random(i).random() for i in range(6)}
    for model, value in values.items():
        add_lm_run(store, scenario="qa", model=model, stats=[stat("exact_match", value), stat("ece_10_bin", value)])
    build_site(store, tmp_path / "site", workers=1)
    page.goto((tmp_path / "site" / paths.LEADERBOARD).as_uri())  # from the file, no server
    table = page.locator('table.leaderboard[data-family="accuracy"]')
    header = table.locator('th[data-scenario="qa"]', has_text="exact_match")
    names = table.locator("tbody.sorted th[scope=row]")
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    assert names.all_inner_texts() == sorted(values, key=values.get, reverse=True)
    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert names.all_inner_texts() == sorted(values, key=values.get)
    # Lower is better for ECE: its first click puts the best (smallest) first.
    page.get_by_role("link", name="calibration").click()
    calibration = page.locator('table.leaderboard[data-family="calibration"]')
    calibration.locator('th[data-scenario="qa"]').click()
    assert calibration.locator("tbody.sorted th[scope=row]").all_inner_texts() == sorted(values, key=values.get)


def test_nothing_a_model_wrote_runs_in_the_page(tmp_path, page):
    store = Store(str(tmp_path / "store"))
    record = lm_record(HOSTILE, HOSTILE, completion=HOSTILE, references=((HOSTILE, ("correct", HOSTILE)),),
                       subgroup=HOSTILE, shared_prefix=HOSTILE[:12])
    record["exchanges"][0]["completion"]["tokens"] = [HOSTILE]
    record["details"] = {"options": [HOSTILE]}
    variant = dict(record, perturbation={"name": HOSTILE, "label": HOSTILE, "family": "robustness"})
    run_id = add_lm_run(store, scenario=HOSTILE, model=HOSTILE, method=HOSTILE,
                        records=[(HOSTILE, record), (HOSTILE + "#v", variant)],
                        stats=[stat("exact_match", 0.5), stat(HOSTILE, 0.5), stat("f1", 0.5, subgroup=HOSTILE)])
    build_site(store, tmp_path / "site", workers=1)
    site = tmp_path / "site"
    for path in ["index.html", paths.LEADERBOARD, paths.run_page(run_id), paths.instances_page(run_id, 1)]:
        page.goto((site / path).as_uri())
        page.wait_for_load_state("load")
        assert page.evaluate("window.__pwned") is None, path
        assert page.locator("img").count() == 0, path
    assert page.locator("pre.completion").all_text_contents() == [HOSTILE, HOSTILE]
    assert page.locator("pre.prompt").all_text_contents() == [HOSTILE, HOSTILE]
    assert page.locator("article.instance h3").inner_text() == HOSTILE
    page.locator("button.more").first.click()  # parses the JSON embedded in the page
    shown = page.locator("pre.more-json").text_content()
    assert HOSTILE.replace('"', '\\"') in shown and page.evaluate("window.__pwned") is None


def test_a_run_of_ten_thousand_instances_opens_at_once(tmp_path, page):
    store = Store(str(tmp_path / "store"))
    records = [(f"0:i{i}", lm_record(f"i{i}", f"Question {i}?", completion=f"answer {i}", correct=i % 2 == 0,
                                     confidence=(i % 100) / 100)) for i in range(10_000)]
    run_id = add_lm_run(store, scenario="big", model="m", records=records, stats=[Stat("exact_match", 0.5, 0.49,
                                                                                         0.51, 10_000)])
    build_site(store, tmp_path / "site", workers=2)
    site = tmp_path / "site"
    run_page = site / paths.run_page(run_id)
    assert run_page.stat().st_size < 100_000 and "Question 9999?" not in run_page.read_text()
    page.goto(run_page.as_uri())
    assert page.get_by_role("link", name="Instances: 10000 in 200 pages").is_visible()
    page.get_by_role("link", name="Instances:").click()
    page.locator("nav.pager").first.get_by_role("link", name="200", exact=True).click()
    assert page.locator("article.instance").count() == 50
    assert page.locator("pre.prompt").last.text_content() == "Question 9999?"


def test_the_site_script_runs_under_its_own_policy(real_site, browser):
    """Served over HTTP (policy in the header and the page) and opened as a file (policy in the page)."""
    _, site, url = real_site
    context = browser.new_context()
    strict = context.new_page()
    for address in [url + paths.LEADERBOARD, (site / paths.LEADERBOARD).as_uri()]:
        strict.goto(address)
        strict.wait_for_load_state("load")
        assert strict.evaluate("document.documentElement.classList.contains('js')"), address
        assert strict.locator("#tab-runs").is_hidden() and strict.locator("#tab-accuracy").is_visible()
        strict.get_by_role("link", name="runs", exact=True).click()
        assert strict.locator("#tab-runs").is_visible() and strict.locator("#tab-accuracy").is_hidden()
    context.close()
