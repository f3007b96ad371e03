"""`tony annotations replication` end to end: simulate, analyse, store, report; bad files exit 2 naming the line."""

from __future__ import annotations

import json

import pytest

from tony.cli import main

SMALL = ["--sim-models", "3", "--sim-classes", "10", "--sim-per-class", "60", "--resamples", "20"]


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("TONY_PROGRESS", "0")


def test_simulate_analyse_store_and_report(tmp_path, capsys):
    store = str(tmp_path / "store")
    assert main(["annotations", "replication", "--simulate", str(tmp_path / "sim"), *SMALL,
                 "--store", store, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert set(out["models"]) == {"model-1", "model-2", "model-3"} and out["annotators"] == 10
    for stats in out["models"].values():
        for name in ("gap_raw", "gap_naive", "gap_jackknife", "gap_parametric"):
            value, low, high = stats[name]
            assert low <= value <= high
        assert stats["gap_raw"][0] == pytest.approx(stats["accuracy_original"][0] - stats["accuracy_replicated"][0])
    # The same files again: the stored run is reused, and the table names every model.
    assert main(["annotations", "replication", str(tmp_path / "sim" / "annotations.csv"),
                 str(tmp_path / "sim" / "predictions.csv"), "--resamples", "20", "--store", store]) == 0
    table = capsys.readouterr().out
    assert "jackknife gap" in table and "model-3" in table
    assert main(["report", "--store", store, "--out", str(tmp_path / "site"), "--workers", "1"]) == 0
    page = (tmp_path / "site" / "annotations" / "replication.html").read_text()
    assert page.count("<svg") == 1 and "parametric" in page and page.count('class="dot') >= 12


ANNOTATIONS = "image,set,yes,n\na,original,3,5\nb,replicated,2,5\n"
PREDICTIONS = "image,m1\na,1\nb,0\n"


@pytest.mark.parametrize(("annotations", "predictions", "message"), [
    ("image,set,yes\na,original,3\n", PREDICTIONS, "annotations.csv line 1: header lacks column(s) n"),
    ("image,set,yes,n\na,original,3,0\nb,replicated,2,5\n", PREDICTIONS, "annotations.csv line 2: image 'a' has no "
     "annotators (n = 0)"),
    ("image,set,yes,n\na,original,3,5\nb,replicated,7,5\n", PREDICTIONS, "annotations.csv line 3: yes = 7 is more "
     "than n = 5"),
    ("image,set,yes,n\na,original,x,5\nb,replicated,2,5\n", PREDICTIONS, "annotations.csv line 2: yes = 'x'"),
    ("image,set,yes,n\na,v3,3,5\nb,replicated,2,5\n", PREDICTIONS, "annotations.csv line 2: set 'v3'"),
    ("image,set,yes,n\na,original,3,5\n", "image,m1\na,1\n", "no images of set 'replicated'"),
    (ANNOTATIONS, "image,m1\na,1\nb,0\nc,1\n", "predictions.csv line 4: image 'c' has no annotators"),
    (ANNOTATIONS, "image,m1\na,1\n", "annotations.csv line 3: image 'b' has no row"),
    (ANNOTATIONS, "image,m1\na,1\nb,2\n", "predictions.csv line 3: correctness '2' is not 0 or 1"),
    (ANNOTATIONS, "model,m1\na,1\nb,0\n", "predictions.csv line 1: the header must be image,<model>"),
    (ANNOTATIONS, "image,m1\na,1,0\nb,0\n", "predictions.csv line 2: 3 fields"),
])
def test_bad_input_exits_2_naming_file_and_line(tmp_path, capsys, annotations, predictions, message):
    (tmp_path / "annotations.csv").write_text(annotations)
    (tmp_path / "predictions.csv").write_text(predictions)
    code = main(["annotations", "replication", str(tmp_path / "annotations.csv"), str(tmp_path / "predictions.csv"),
                 "--store", str(tmp_path / "store")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_missing_arguments_and_files_exit_2(tmp_path, capsys):
    assert main(["annotations", "replication"]) == 2
    assert "--simulate DIR" in capsys.readouterr().err
    assert main(["annotations", "replication", str(tmp_path / "nope.csv"), str(tmp_path / "nope2.csv")]) == 2
    assert "cannot read annotations file" in capsys.readouterr().err
