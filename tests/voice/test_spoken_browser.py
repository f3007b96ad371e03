"""The drill-down's players of a spoken prompt and a spoken answer in a real headless browser under the site's own
policy (served by `tony serve` and opened as a file): each WAV copied beside the page loads and lasts what was
stored (0.5 s and 0.25 s).
Skipped without chromium or playwright unless TONY_REQUIRE_BROWSER is set, as the other browser tests are."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))
sys.path.insert(0, str(Path(__file__).parents[1] / "report"))
import test_site_browser as site_browser  # noqa: E402
from lm_runs import add_lm_run, lm_record  # noqa: E402
from test_spoken_artifacts import answered_aloud, spoken_record, tone  # noqa: E402

from tony.core.store import Store  # noqa: E402
from tony.lm.report.paths import instances_page  # noqa: E402
from tony.report import build_site  # noqa: E402
from tony.report.serve import SiteServer  # noqa: E402
from tony.voice.artifacts import keep_spoken_answers, keep_spoken_audio  # noqa: E402
from tony.voice.spoken import store_audio  # noqa: E402

pytestmark = pytest.mark.slow
browser = site_browser.browser


def test_the_spoken_prompt_and_answer_play_under_the_site_s_policy(tmp_path, monkeypatch, browser) -> None:
    monkeypatch.setenv("TONY_CACHE_DIR", str(tmp_path / "cache"))
    digest, answer = store_audio(tone(440)), store_audio(tone(330)[:4000])
    store = Store(str(tmp_path / "store"))
    record = answered_aloud(spoken_record("a", digest, "heard"), answer, "said")
    run_id = add_lm_run(store, scenario="s", model="m", records=[("0:a", lm_record("a", "q")), ("0:a#en-us", record)])
    keep_spoken_audio(store, run_id, [record])
    keep_spoken_answers(store, run_id, [record])
    site = tmp_path / "site"
    build_site(store, site, workers=1)
    server = SiteServer(site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    context = browser.new_context()  # the site's Content-Security-Policy enforced
    try:
        page = context.new_page()
        for address in [server.url + instances_page(run_id, 1), (site / instances_page(run_id, 1)).as_uri()]:
            page.goto(address)
            durations = page.locator("audio").evaluate_all(
                "players => Promise.all(players.map(a => new Promise((done, failed) => {"
                " a.onloadedmetadata = () => done(a.duration);"
                " a.onerror = () => failed(new Error('no audio: ' + (a.error && a.error.code))); a.load(); })))")
            assert durations == [pytest.approx(0.25, abs=0.01), pytest.approx(0.5, abs=0.01)], address
    finally:
        context.close()
        server.shutdown()
        server.server_close()
