"""`tony annotations multilabel` end to end: the run in the store, its JSON and table, the report page, bad input."""

from __future__ import annotations

import importlib.util
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from multilabel_helpers import oracle_predictions, simulate, write_folder

from tony.annotations.multilabel.predictions import write_predictions
from tony.core.store import Store
from tony.report.site import build_site, page_sources

OTHERS = {"e1.JPEG": "easy", "e2.JPEG": "easy", "m1.JPEG": "mis", "a1.JPEG": "amb"}
OTHER_LABELS = {"e1.JPEG": 3, "e2.JPEG": 4, "m1.JPEG": 5, "a1.JPEG": 6}


@pytest.fixture
def tony(monkeypatch: pytest.MonkeyPatch):
    """tony.cli.main with `annotations` registered (the replication subcommand only where it exists yet)."""
    from tony import cli
    from tony.annotations import cli as annotations_cli

    if importlib.util.find_spec("tony.annotations.replication.cli") is None:
        monkeypatch.setattr(annotations_cli, "SUBCOMMANDS", {"multilabel": annotations_cli.SUBCOMMANDS["multilabel"]})
    monkeypatch.setenv("TONY_PROGRESS", "0")
    return cli.main


@pytest.fixture
def study(tmp_path: Path):
    truth, rows = simulate(seed=7, images=80)
    folder = write_folder(tmp_path / "data", rows, others=OTHERS)
    main_model = write_predictions(tmp_path / "main.jsonl", oracle_predictions(truth, OTHER_LABELS, 1, main_rate=1.0,
                                                                              label_rate=0.0))
    label_model = write_predictions(tmp_path / "label.jsonl", oracle_predictions(truth, OTHER_LABELS, 2,
                                                                                main_rate=0.0, label_rate=1.0))
    return truth, rows, folder, main_model, label_model


def test_json_output_and_accuracy_of_two_oracle_models(tony, study, tmp_path: Path, capsys):
    truth, rows, folder, main_model, label_model = study
    store = str(tmp_path / "store")
    assert tony(["annotations", "multilabel", str(folder), "--predictions", f"main={main_model}",
                 "--predictions", str(label_model), "--store", store, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # Recount from the raw rows: the most common main choice (ties are rare here, and counted apart).
    top_main = [max(set(r["main"]), key=r["main"].count) for r in rows]
    sizes = [max(set(map(len, r["selected"])), key=[len(s) for s in r["selected"]].count) for r in rows]
    assert out["images"] == 80 and out["first_stage"] == {"easy": 2, "mis": 1, "amb": 1, "fu": 80}
    assert out["multi_object_images"] == sum(k > 1 for k in sizes)
    agree = sum(m == r["imagenet_label"] for m, r in zip(top_main, rows, strict=True))
    assert abs(out["main_label_is_benchmark_label"] * 80 - agree) <= out["main_label_ties"]
    low, high = out["main_label_is_benchmark_label_ci"]
    assert low < out["main_label_is_benchmark_label"] < high
    main, label = out["accuracy"]["main"], out["accuracy"]["label"]
    # The model naming the benchmark label: perfect standard top-1 on every image with a label.
    assert label["all"]["top1"]["value"] == 1.0 and label["all"]["top1"]["n"] == 84
    assert label["all"]["multilabel_top1"]["n"] == 82  # mis and amb images have no valid labels
    # The model naming the main object: right under multi-label top-1 (its names are valid labels),
    # wrong under standard top-1 wherever the benchmark label is another object.
    assert main["first_stage:fu"]["multilabel_top1"]["value"] == 1.0
    assert main["first_stage:easy"]["multilabel_top1"]["value"] == 0.0  # it misses the easy images' labels
    wrong_object = sum(t.label not in t.objects[0] for t in truth)
    assert main["first_stage:fu"]["top1"]["value"] <= 1 - wrong_object / 80
    assert main["first_stage:fu"]["multilabel_top1"]["value"] > main["first_stage:fu"]["top1"]["value"]
    assert set(main) >= {"all", "first_stage:fu", "first_stage:easy", "objects:1", "objects:2", "superclass:low",
                         "superclass:high"}
    assert main["objects:1"]["top1"]["n"] == sizes.count(1) + 2  # the easy images count as one object

    runs = Store(store).runs("complete")
    assert [r["kind"] for r in runs] == ["annotations-multilabel"] and runs[0]["run_id"] == out["run"]
    records = Store(store).records(out["run"])
    assert len(records) == 84 and records[0]["models"]["main"]["predicted"][0] == truth[0].objects[0][0]


def test_table_output_reuses_the_stored_run_and_the_report_draws_it(tony, study, tmp_path: Path, capsys):
    _, _, folder, main_model, _ = study
    args = ["annotations", "multilabel", str(folder), "--predictions", str(main_model), "--store",
            str(tmp_path / "store")]
    assert tony(args) == 0
    first = capsys.readouterr().out
    assert "images with per-annotator judgments  80" in first and "main: accuracy [95% CI]" in first
    assert re.search(r"first_stage:easy\s+0\.000 \[0\.000, 0\.000\]", first)
    assert tony(args) == 0
    assert "(already stored)" in capsys.readouterr().out

    site = build_site(Store(str(tmp_path / "store")), tmp_path / "site", sources=page_sources(), workers=1)
    page = (site.path / "annotations" / "multilabel.html").read_text()
    plots = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    titles = [ET.fromstring(svg).get("aria-label") for svg in plots]
    assert titles == ["Objects per image", "Standard against multi-label top-1", "Standard and multi-label top-1"]
    assert "multi-label top-1" in page and "superclass:low" in page


def test_changed_predictions_are_a_new_run(tony, study, tmp_path: Path, capsys):
    truth, _, folder, main_model, _ = study
    store = str(tmp_path / "store")
    base = ["annotations", "multilabel", str(folder), "--store", store, "--format", "json", "--predictions"]
    assert tony([*base, f"m={main_model}"]) == 0
    first = json.loads(capsys.readouterr().out)
    write_predictions(main_model, oracle_predictions(truth, OTHER_LABELS, 3, main_rate=0.0, label_rate=0.0))
    assert tony([*base, f"m={main_model}"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["run"] != first["run"]
    assert second["accuracy"]["m"]["all"]["multilabel_top1"]["value"] == 0.0


@pytest.mark.parametrize(("line", "message"), [
    ('{"image": "z.JPEG", "imagenet_label": 3}', r"classify_task.jsonl:81: not in the schema: missing field"),
    ('{"image": "z.JPEG", "imagenet_label": 4000, "num_workers": 1, "selected": [[1]], "main": [1]}',
     r"classify_task.jsonl:81: label 4000 in 'imagenet_label' is out of range"),
    ('{"image": "z.JPEG", "imagenet_label": 3, "num_workers": 0, "selected": [], "main": []}',
     r"classify_task.jsonl:81: image 'z.JPEG' has no annotators"),
])
def test_bad_annotations_exit_2_with_one_line_naming_file_and_line(tony, study, tmp_path: Path, capsys, line,
                                                                   message):
    folder = study[2]
    with (folder / "classify_task.jsonl").open("a") as handle:
        handle.write(line + "\n")
    assert tony(["annotations", "multilabel", str(folder), "--store", str(tmp_path / "store")]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and str(folder / "classify_task.jsonl") in err
    assert err.startswith("tony: error: ") and err.count("\n") == 1
    assert not (tmp_path / "store").exists() or Store(str(tmp_path / "store")).runs() == []


def test_bad_predictions_and_arguments_exit_2(tony, study, tmp_path: Path, capsys):
    folder, main_model = study[2], study[3]
    lines = main_model.read_text().splitlines()
    main_model.write_text("\n".join([*lines[:3], '{"image": "img_0003.JPEG", "top5": [1, 2, 3, 4, 4000]}']) + "\n")
    store = ["--store", str(tmp_path / "store")]
    assert tony(["annotations", "multilabel", str(folder), "--predictions", str(main_model), *store]) == 2
    assert re.search(r"main.jsonl:4: label 4000 is out of range", capsys.readouterr().err)
    assert tony(["annotations", "multilabel", str(folder), "--predictions", str(tmp_path / "none.jsonl"), *store]) == 2
    assert "predictions file not found" in capsys.readouterr().err
    assert tony(["annotations", "multilabel", str(tmp_path), *store]) == 2
    assert "is not a multi-label data folder: it has no classify_task.jsonl" in capsys.readouterr().err
    assert tony(["annotations", "multilabel", str(folder), "--min-selection", "0", *store]) == 2
    assert "min_selection" in capsys.readouterr().err


def test_the_report_escapes_model_names_and_lists_every_run(study, tmp_path: Path, monkeypatch):
    from tony.annotations.multilabel import api
    from tony.annotations.multilabel.report import pages

    monkeypatch.setenv("TONY_PROGRESS", "0")
    _, _, folder, main_model, label_model = study
    store = str(tmp_path / "store")
    hostile = '<script>alert("x")</script>'
    api.analyze(folder, {hostile: main_model}, store)
    api.analyze(folder, {"label": label_model}, store, min_selection=0.5)
    [page] = list(pages(Store(store)))
    assert hostile not in page.body and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page.body
    assert page.body.count("<h2>") == 2 and "at least 0.500 of annotators" in page.body
    for svg in re.findall(r"<svg.*?</svg>", page.body, flags=re.S):
        ET.fromstring(svg)
