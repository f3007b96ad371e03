"""The language-model pages: leaderboard cells, baselines, win rates, run pages, the drill-down."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from lm_runs import add_lm_run, lm_record, stat

from tony.core.stat_id import WORST_CASE
from tony.core.store import Store
from tony.lm.report import paths
from tony.lm.report.instances import GROUPS_PER_PAGE
from tony.lm.report.plots import reliability_bins
from tony.report import build_site

HOSTILE = '"><img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script></script><!--'


class Texts(HTMLParser):
    """The text content of every element with a given class, as a browser's textContent reads it."""

    def __init__(self, css: str) -> None:
        super().__init__(convert_charrefs=True)
        self.css, self.depth, self.found = css, 0, []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += 1
        elif self.css in (dict(attrs).get("class") or "").split():
            self.depth = 1
            self.found.append("")

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.found[-1] += data


def texts(html: str, css: str) -> list[str]:
    parser = Texts(css)
    parser.feed(html)
    return parser.found


def leading_newline_dropped(text: str) -> str:
    """What the HTML parser does after <pre> (html.parser does not, browsers do)."""
    return text[1:] if text.startswith("\n") else text


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(str(tmp_path / "store"))


def build(store: Store, tmp_path: Path) -> Path:
    out = tmp_path / "site"
    build_site(store, out, workers=1)
    return out


def leaderboard_runs(store: Store) -> dict[str, str]:
    ids = {}
    for model, accuracy, ece in (("small", 0.4, 0.30), ("large", 0.8, 0.10)):
        ids[model, "qa"] = add_lm_run(store, scenario="qa", model=model, method="multiple_choice_joint", stats=[
            stat("accuracy", accuracy), stat("ece_10_bin", ece), stat("accuracy", 0.777, subgroup="g"),
            stat("accuracy", 0.666, split="draw0"), stat("accuracy", 0.25, split="baseline:chance"),
            stat("accuracy", 0.31, split="baseline:majority"), stat("wall_s_per_instance", 2.0 * accuracy),
            stat("accuracy@robustness", accuracy - 0.1, metric="accuracy", family="robustness", variant=WORST_CASE),
            stat("accuracy@robustness:typos", accuracy - 0.05, metric="accuracy", family="robustness",
                 variant="typos")])
        ids[model, "gen"] = add_lm_run(store, scenario="gen", model=model, stats=[
            stat("exact_match", accuracy / 2), stat("f1", accuracy)])
    return ids


def test_leaderboard_rows_columns_and_cells(store: Store, tmp_path: Path):
    ids = leaderboard_runs(store)
    html = (build(store, tmp_path) / paths.LEADERBOARD).read_text()
    tabs = re.findall(r'<section class="tab" id="tab-([a-z]+)">', html)
    assert tabs == ["accuracy", "calibration", "robustness", "efficiency", "runs"]
    accuracy_tab = html.split('id="tab-accuracy"')[1].split("</section>")[0]
    headers = re.findall(r'data-col="\d+"[^>]*>([^<]+)</th>', accuracy_tab)
    assert headers == ["model", "mean win rate", "exact_match", "f1", "accuracy"]  # gen, then qa
    rows = re.findall(r'<th scope="row">([^<]+)</th>', accuracy_tab)
    assert rows == ["large", "small", "chance", "majority"]  # by win rate, then the baselines
    assert f'href="{paths.href(paths.run_page(ids["large", "qa"]))}">0.800</a>' in accuracy_tab
    assert "[0.700, 0.900]" in accuracy_tab
    # Only whole-run stats in the cells: not a subgroup's, not a draw's.
    assert "0.777" not in html and "0.666" not in html
    assert ">0.250</a>" in accuracy_tab and ">0.310</a>" in accuracy_tab


def test_win_rates_follow_each_metric_direction(store: Store, tmp_path: Path):
    leaderboard_runs(store)
    html = (build(store, tmp_path) / paths.LEADERBOARD).read_text()
    for family in ("accuracy", "calibration"):  # ECE: lower is better, so "large" wins there too
        tab = html.split(f'id="tab-{family}"')[1].split("</section>")[0]
        assert re.search(r'<th scope="row">large</th><td class="num" data-v="1.0">1.000</td>', tab)
        assert re.search(r'<th scope="row">small</th><td class="num" data-v="0.0">0.000</td>', tab)
    # Cells sort by ranking value (larger is better), so a column's first sort puts the best first.
    calibration = html.split('id="tab-calibration"')[1].split("</section>")[0]
    assert 'data-v="-0.1"' in calibration and 'data-v="-0.3"' in calibration


def test_the_latest_complete_run_fills_a_cell_and_every_run_is_listed(store: Store, tmp_path: Path):
    add_lm_run(store, scenario="qa", model="m", stats=[stat("accuracy", 0.2)])
    newer = add_lm_run(store, scenario="qa", model="m", stats=[stat("accuracy", 0.6)], salt="again")
    failed = add_lm_run(store, scenario="qa", model="m", status="failed", salt="broken")
    html = (build(store, tmp_path) / paths.LEADERBOARD).read_text()
    accuracy_tab = html.split('id="tab-accuracy"')[1].split("</section>")[0]
    assert f'{paths.href(paths.run_page(newer))}">0.600</a>' in accuracy_tab and "0.200" not in accuracy_tab
    runs_tab = html.split('id="tab-runs"')[1]
    assert failed[:12] in runs_tab and "failed" in runs_tab


def test_run_page_has_every_stat_plots_and_spec_but_no_records(store: Store, tmp_path: Path):
    records = [(f"0:i{i}", lm_record(f"i{i}", f"PROMPT-{i}", completion="yes", correct=i % 3 == 0,
                                     confidence=0.05 + i / 25)) for i in range(24)]
    run_id = add_lm_run(store, scenario="qa", model="m", records=records, stats=[
        stat("accuracy", 0.5), stat("accuracy", 0.9, subgroup="geo"), stat("accuracy", 0.4, split="draw1"),
        stat("accuracy@robustness", 0.3, metric="accuracy", family="robustness", variant=WORST_CASE),
        stat("accuracy@fairness:gender=female", 0.45, metric="accuracy", family="fairness", variant="gender=female")])
    html = (build(store, tmp_path) / paths.run_page(run_id)).read_text()
    stats_table = html.split("<h2>Stats</h2>")[1]
    assert stats_table.count("<tr>") == 1 + 5 and ">geo<" in stats_table and ">draw1<" in stats_table
    assert "Reliability diagram (24 instances)" in html and "accuracy under perturbation" in html
    assert "robustness" in html and "fairness:gender=female" in html
    assert "&quot;salt&quot;: &quot;&quot;" in html  # the spec, escaped
    assert "PROMPT-" not in html
    assert f'href="{paths.href(paths.instances_page(run_id, 1))}"' in html


def test_reliability_bins_match_the_ece_binning():
    bins = reliability_bins([(0.0, True), (0.1, False), (0.15, True), (1.0, True)])
    assert [b.n for b in bins] == [2, 1, 0, 0, 0, 0, 0, 0, 0, 1]  # (0, 0.1] holds 0 and 0.1
    assert bins[0].accuracy == 0.5 and bins[0].confidence == pytest.approx(0.05)


def test_drill_down_pages_group_variants_under_their_original(store: Store, tmp_path: Path):
    count = 2 * GROUPS_PER_PAGE + 20
    records = [(f"0:i{i}", lm_record(f"i{i}", f"Q{i}?")) for i in range(count)]
    # Variants are stored after every original, as tony.lm.run stores them.
    records += [(f"0:i{i}#typos", lm_record(f"i{i}", f"Qq{i}?", correct=False, perturbation={
        "name": "typos", "label": "typos", "family": "robustness"})) for i in (0, 119)]
    records += [("0:i0#gender=female", lm_record("i0", "Q0 she?", perturbation={
        "name": "gender", "label": "gender=female", "family": "fairness"}))]
    run_id = add_lm_run(store, scenario="qa", model="m", records=records)
    out = build(store, tmp_path)
    pages = sorted((out / "lm").glob(f"run-{run_id[:12]}-p*.html"))
    assert [p.name[-8:] for p in pages] == ["-p1.html", "-p2.html", "-p3.html"]
    first = (out / paths.instances_page(run_id, 1)).read_text()
    assert first.count('<article class="instance"') == GROUPS_PER_PAGE
    article = first.split('<article class="instance"')[1]
    assert [leading_newline_dropped(t) for t in texts(article, "prompt")] == ["Q0?", "Qq0?", "Q0 she?"]
    assert "gender=female" in article and "fairness" in article and "2 variants" in article
    last = (out / paths.instances_page(run_id, 3)).read_text()
    assert last.count('<article class="instance"') == 20 and "Qq119?" in last
    assert f'href="{paths.href(paths.instances_page(run_id, 2))}"' in last and "next" not in last


def test_prompts_read_back_exactly_with_the_shared_prefix_marked(store: Store, tmp_path: Path):
    shared = "Instructions\r\n\nQ: 1+1?\nA: 2\n\n"
    prompt = shared + "Q: 2+2?\nA:"
    odd = "\n  leading newline\tand tab\r"
    records = [("0:a", lm_record("a", prompt, shared_prefix=shared, continuations=(" 4", " 5"),
                                 logprobs=(-0.1, -2.0), completion="")),
               ("0:b", lm_record("b", odd, completion="\n\nout"))]
    run_id = add_lm_run(store, scenario="qa", model="m", records=records)
    html = (build(store, tmp_path) / paths.instances_page(run_id, 1)).read_text()
    assert [leading_newline_dropped(t) for t in texts(html, "prompt")] == [prompt, odd]
    assert [leading_newline_dropped(t) for t in texts(html, "shared")] == [shared]
    assert [leading_newline_dropped(t) for t in texts(html, "completion")] == ["\n\nout"]
    assert '<tr class="best"><td><span class="ref"> 4</span>' in html and "-0.1000" in html


def test_everything_a_model_or_dataset_wrote_is_escaped(store: Store, tmp_path: Path):
    record = lm_record(HOSTILE, HOSTILE, completion=HOSTILE, references=((HOSTILE, ("correct", HOSTILE)),),
                       subgroup=HOSTILE, perturbation={"name": HOSTILE, "label": HOSTILE, "family": HOSTILE})
    original = lm_record(HOSTILE, HOSTILE, completion=HOSTILE, shared_prefix=HOSTILE[:10])
    run_id = add_lm_run(store, scenario=HOSTILE, model=HOSTILE, method=HOSTILE,
                        records=[(HOSTILE, original), (HOSTILE + "#v", record)],
                        stats=[stat("accuracy", 0.5), stat(HOSTILE, 0.5), stat("accuracy", 0.1, subgroup=HOSTILE)])
    out = build(store, tmp_path)
    for page in [out / "index.html", out / paths.LEADERBOARD, out / paths.run_page(run_id),
                 out / paths.instances_page(run_id, 1)]:
        html = page.read_text()
        assert "<img" not in html and "<script>" not in html and "<!--" not in html, page.name
        assert len(re.findall(r"<script", html)) == html.count('<script src="') + html.count(
            '<script type="application/json"'), page.name
        assert HOSTILE not in html
    drill = (out / paths.instances_page(run_id, 1)).read_text()
    assert texts(drill, "completion") == ["\n" + HOSTILE] * 2
    assert drill.count("</script>") == 2  # site.js and the records' JSON, nothing a model wrote
