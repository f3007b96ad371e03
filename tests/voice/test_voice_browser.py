"""The voice page in a real headless browser (Debian's chromium through Playwright), with hostile names in the
store: it is in the navigation, its tables and plot show, and nothing a model or a spec named runs. Skipped
without chromium or playwright unless TONY_REQUIRE_BROWSER is set, as the other browser tests are."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))
sys.path.insert(0, str(Path(__file__).parent))
import test_site_browser as site_browser  # noqa: E402
import test_voice_pages as voice_pages_test  # noqa: E402

from tony.report import build_site  # noqa: E402
from tony.voice.report import INDEX  # noqa: E402

pytestmark = pytest.mark.slow
browser = site_browser.browser
page = site_browser.page
store = voice_pages_test.store
"""The pages' store: a speech-channel run and a latency run, with hostile labels."""
HOSTILE = voice_pages_test.HOSTILE


def test_the_voice_page_is_in_the_navigation_and_shows_its_tables_as_text(store, page, tmp_path) -> None:
    build_site(store, tmp_path / "site", workers=1)
    page.goto((tmp_path / "site" / "index.html").as_uri())
    page.locator("nav.top").get_by_role("link", name="Voice", exact=True).click()
    page.wait_for_selector("h2")
    assert page.url.endswith(INDEX)
    headings = page.locator("h2").all_text_contents()
    assert headings == ["Word error rate", "Text and speech", "Response latency"]
    conditions = page.locator("table").first.locator("tbody tr").evaluate_all(
        "trs => trs.map(tr => tr.cells[2].textContent)")
    assert conditions == [f"10dB-{HOSTILE}", "clean"]  # a hostile label, shown as text
    assert HOSTILE in page.locator("h3").first.text_content()
    assert page.locator("svg").count() == 1
    assert page.evaluate("window.__pwned") is None and page.locator("img").count() == 0
