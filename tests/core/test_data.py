"""The data root (--data, TONY_DATA, ./data, ../shared/data) and `tony data`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tony.core.data import ENV, Dataset, count_rows, data_file, data_files, data_root, use_data_root
from tony.core.errors import DataError, DataNotInstalledError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from cli_helpers import tony  # noqa: E402 (runs the real command)


@pytest.fixture
def no_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no data root in reach and TONY_DATA unset."""
    work = tmp_path / "deep" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.delenv(ENV, raising=False)
    return work


def test_tony_data_wins_over_the_defaults(no_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (no_root / "data").mkdir()
    chosen = tmp_path / "elsewhere"
    chosen.mkdir()
    monkeypatch.setenv(ENV, str(chosen))
    assert data_root()[0] == chosen


def test_defaults_are_dot_data_then_the_shared_shelf(no_root: Path, tmp_path: Path):
    assert data_root()[0] is None
    shelf = no_root.parent / "shared" / "data"
    shelf.mkdir(parents=True)
    assert data_root()[0] == Path("../shared/data")
    (no_root / "data").mkdir()
    assert data_root()[0] == Path("data")


def test_a_missing_file_names_the_file_the_root_and_the_fix(no_root: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(DataNotInstalledError) as nowhere:
        data_file("gsm8k/test.jsonl", dataset="gsm8k")
    message = str(nowhere.value)
    assert "gsm8k/test.jsonl" in message and "--data" in message and ENV in message and "\n" not in message
    monkeypatch.setenv(ENV, str(tmp_path))
    with pytest.raises(DataNotInstalledError, match=str(tmp_path)):
        data_files("bbq/*.jsonl", dataset="bbq")


def test_use_data_root_refuses_a_folder_that_is_not_there(no_root: Path, monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(DataError, match="no such folder"):
        use_data_root(no_root / "nope")
    monkeypatch.setenv(ENV, "unchanged")  # restored by monkeypatch after use_data_root writes it
    use_data_root(no_root)
    assert data_root()[0] == no_root.resolve()


def test_rows_count_csv_records_not_lines(tmp_path: Path):
    table = tmp_path / "t.csv"
    table.write_text('a,b\n1,"two\nlines"\n3,4\n', encoding="utf-8")
    lines = tmp_path / "t.jsonl"
    lines.write_text('{"a": 1}\n\n{"a": 2}\n', encoding="utf-8")
    assert (count_rows(table), count_rows(lines)) == (2, 2)


def test_status_is_found_partial_or_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(ENV, str(tmp_path))
    dataset = Dataset("toy", ("toy/a.jsonl", "toy/*.csv"), "MIT", "https://example.org/toy")
    assert dataset.status()["status"] == "missing"
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "a.jsonl").write_text("{}\n{}\n", encoding="utf-8")
    assert dataset.status()["status"] == "partial"
    (tmp_path / "toy" / "b.csv").write_text("x\n1\n", encoding="utf-8")
    status = dataset.status()
    assert (status["status"], status["rows"], status["missing"]) == ("found", 3, [])


def test_tony_data_lists_the_shelf(shelf_root: Path):
    done = tony("data", "--format", "json", "--data", str(shelf_root), check=True)
    found = {entry["name"]: entry for entry in json.loads(done.stdout)}
    # Row counts as the shelf's README gives them.
    expected = {"truthfulqa": 817, "bbq": 11_956, "gsm8k": 7_473 + 1_319, "openbookqa": 500,
                "imagenet-multilabel": None, "breeds-hierarchy": None}
    for name, rows in expected.items():
        assert found[name]["status"] == "found", name
        assert found[name]["license"] and found[name]["source"].startswith("https://")
        if rows is not None:
            assert found[name]["rows"] == rows, name
    table = tony("data", "--data", str(shelf_root), check=True).stdout
    assert "truthfulqa" in table and "found" in table


def test_a_bad_data_root_is_one_line_and_exit_2(tmp_path: Path):
    done = tony("data", "--data", str(tmp_path / "missing"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no such folder" in done.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    run = tony("run", "truthfulqa:variant=mc1", "--data", str(empty), "--store", str(tmp_path / "store"))
    assert run.returncode == 2
    assert "truthfulqa/TruthfulQA.csv" in run.stderr and str(empty) in run.stderr
    assert run.stderr.count("\n") == 1
    assert not (tmp_path / "store").exists()
