"""`tony report` and `tony serve` from the command line: output, and one-line errors."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from lm_runs import add_lm_run, lm_record, stat

from tony.cli import main
from tony.core.store import Store


def run_cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_writes_the_site_and_says_how_to_serve_it(tmp_path: Path, capsys):
    store = Store(str(tmp_path / "store"))
    add_lm_run(store, scenario="qa", model="m", records=[("0:a", lm_record("a", "Q?"))], stats=[stat("accuracy", 1)])
    out = tmp_path / "site"
    code, stdout, _ = run_cli(capsys, "report", "--store", str(tmp_path / "store"), "--out", str(out), "--workers", "1")
    assert code == 0
    assert "for 1 run in" in stdout and str(out / "index.html") in stdout and f"tony serve --out {out}" in stdout
    assert (out / "lm" / "index.html").exists()


def test_report_without_a_store_is_a_one_line_error_and_creates_nothing(tmp_path: Path, capsys):
    missing = tmp_path / "nowhere"
    code, stdout, stderr = run_cli(capsys, "report", "--store", str(missing), "--out", str(tmp_path / "site"))
    assert code == 2 and stdout == ""
    assert stderr.startswith("tony: error: no results store in") and stderr.count("\n") == 1
    assert not missing.exists() and not (tmp_path / "site").exists()


def test_report_of_an_empty_store_says_to_run_something(tmp_path: Path, capsys):
    Store(str(tmp_path / "store"))
    code, _, stderr = run_cli(capsys, "report", "--store", str(tmp_path / "store"), "--out", str(tmp_path / "site"))
    assert code == 2 and "no runs in" in stderr and "`tony run ...`" in stderr


def test_report_will_not_replace_a_folder_it_did_not_build(tmp_path: Path, capsys):
    store = Store(str(tmp_path / "store"))
    add_lm_run(store, scenario="qa", model="m")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "keep.txt").write_text("keep")
    code, _, stderr = run_cli(capsys, "report", "--store", str(tmp_path / "store"), "--out", str(tmp_path / "docs"))
    assert code == 2 and "is not a site" in stderr and (tmp_path / "docs" / "keep.txt").exists()


def test_serve_without_a_site_says_to_build_one(tmp_path: Path, capsys):
    code, _, stderr = run_cli(capsys, "serve", "--out", str(tmp_path / "none"))
    assert code == 2 and "`tony report` builds one" in stderr


def test_serve_on_a_port_in_use_is_a_one_line_error(tmp_path: Path, capsys):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("x")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, stderr = run_cli(capsys, "serve", "--out", str(tmp_path / "site"), "--port", str(port))
    assert code == 2 and f"cannot serve on 127.0.0.1:{port}" in stderr and "--port" in stderr
