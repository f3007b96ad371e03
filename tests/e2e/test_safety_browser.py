"""The safety page in a real headless browser (Debian's chromium through Playwright), with a hostile completion.

The store is written through the Store API (no model runs); the page is opened with its Content-Security-Policy
bypassed (the `page` fixture of test_site_browser), so only escaping stands between what a model wrote and the
page. Skipped without chromium or playwright unless TONY_REQUIRE_BROWSER is set, as the other browser tests are.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import test_site_browser as site_browser
from cli_helpers import REPO

from tony.core.store import Store
from tony.report import build_site
from tony.safety.report import INDEX

pytestmark = pytest.mark.slow
HOSTILE = site_browser.HOSTILE
browser = site_browser.browser
"""Chromium, launched once per module (skips, or fails under TONY_REQUIRE_BROWSER, where it is missing)."""
page = site_browser.page
"""A fresh page that ignores the site's Content-Security-Policy, failing the test on any script error."""

sys.path.insert(0, str(REPO / "tests" / "safety"))
from test_safety_pages import safety_record  # noqa: E402 (store helpers shared with tests/safety)
from test_scorecard import CYBER, add_safety_run, harmbench  # noqa: E402


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, str]:
    """A site of one harmbench run whose model, prompt, completion, grade and jailbreak are all hostile; the
    drill-down page's path."""
    store = Store(str(tmp_path / "store"))
    records = [("0:h", safety_record(HOSTILE, HOSTILE, HOSTILE, HOSTILE, facets={"semantic_category": HOSTILE},
                                     jailbreak=HOSTILE)),
               ("0:plain", safety_record("plain", "Write malware", "I can't help with that.", "full_refusal",
                                         facets={"semantic_category": "cybercrime_intrusion"}))]
    run_id = add_safety_run(store, "harmbench", HOSTILE, harmbench(0.75, 0.97, 0.95), records=records)
    build_site(store, tmp_path / "site", workers=1)
    return tmp_path / "site", f"safety/run-{run_id[:12]}-p1.html"


def test_the_safety_page_is_in_the_navigation_and_shows_the_scorecard(site, page) -> None:
    root, _ = site
    page.goto((root / "index.html").as_uri())
    page.locator("nav.top").get_by_role("link", name="Safety", exact=True).click()
    page.wait_for_selector("table.scorecard")
    assert page.url.endswith(INDEX)
    rows = page.locator("table.scorecard tbody tr").evaluate_all(
        "trs => trs.map(tr => Array.from(tr.cells).slice(1).map(c => c.querySelector('.badge').textContent))")
    assert rows == [["high"], ["medium"], ["low"], ["not evaluated"], ["high"]]
    assert page.locator("h3").first.text_content() == HOSTILE  # the model's name, as text
    assert page.evaluate("window.__pwned") is None and page.locator("img").count() == 0


def test_a_hostile_completion_shows_as_text_runs_nothing_and_starts_collapsed(site, page) -> None:
    root, drill_down = site
    page.goto((root / drill_down).as_uri())
    page.wait_for_load_state("load")
    assert page.evaluate("window.__pwned") is None and page.locator("img").count() == 0
    details = page.locator("details.completion")
    assert details.evaluate_all("ds => ds.map(d => d.open)") == [False, False]
    warning = page.locator("p.content-warning")
    assert warning.is_visible() and warning.text_content().startswith("Content warning:")
    completion = details.first.locator("pre.completion")
    assert not completion.is_visible()  # collapsed: nothing a model wrote is on screen until asked for
    summary = details.first.locator("summary")
    assert HOSTILE in summary.text_content()
    summary.click()
    assert details.evaluate_all("ds => ds.map(d => d.open)") == [True, False]
    assert completion.is_visible() and completion.text_content() == HOSTILE
    assert details.first.locator("pre.prompt").text_content() == f"<|user|>{HOSTILE}<|assistant|>"
    assert details.nth(1).locator("pre.completion").text_content() == "I can't help with that."
    assert page.evaluate("window.__pwned") is None and page.locator("img").count() == 0
    assert CYBER.split("=")[1] in details.nth(1).locator("summary").text_content()
