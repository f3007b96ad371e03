"""Bad input: a one-line message naming the problem, exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import CAPITALS, tony


def assert_one_line_error(done, *fragments: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["run", "nosuch:task=x"], ["unknown scenario 'nosuch'"]),
        (["run", "bigbench:task=strategyqa,method=telepathy"], ["unknown adapter 'telepathy'"]),
        (["run", "bigbench:task=strategyqa,model=gpt-11"], ["unknown model 'gpt-11'"]),
        (["run", "bigbench:task=strategyq"], ["strategyq", "did you mean 'strategyqa'"]),
        (["run", "bigbench:task"], ["not key=value"]),
        (["run", "bigbench:task=strategyqa,num_train=many"], ["num_train"]),
        (["run", "--max-instances", "ten", "bigbench:task=strategyqa"], ["--max-instances"]),
        (["run", "jsonl:path=/no/such/file.jsonl"], ["/no/such/file.jsonl"]),
        (["run", "no-such-suite.yaml"], ["no-such-suite.yaml"]),
        (["frobnicate"], ["invalid choice"]),
        (["compare", "abcdef123", "fedcba321"], ["no results store"]),
    ],
)
def test_bad_input(args, fragments, store_dir):
    if args[0] in ("run", "compare"):
        args = [*args, "--store", store_dir]
    assert_one_line_error(tony(*args), *fragments)


def test_non_utf8_data_file(tmp_path, store_dir):
    data = tmp_path / "latin1.jsonl"
    data.write_bytes('{"input": "caf\xe9?", "target": "oui"}\n'.encode("latin-1"))
    assert_one_line_error(tony("run", f"jsonl:path={data}", "--store", store_dir), "UTF-8")


def test_bad_suite_file(tmp_path, store_dir):
    suite = tmp_path / "suite.yaml"
    suite.write_text("runs: [bigbench:task=strategyqa\n")
    assert_one_line_error(tony("run", str(suite), "--store", store_dir), "not valid YAML")
    suite.write_text("defaults: {}\n")
    assert_one_line_error(tony("run", str(suite), "--store", store_dir), "runs:")


def test_unusable_store(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert_one_line_error(tony("results", "--store", str(blocker / "sub")), "no results store")
    assert_one_line_error(tony("run", "synthetic_induction:max_instances=1", "--store", str(blocker / "sub")),
                          "cannot open store")


def test_runs_whose_data_is_not_installed_stop_the_plan_or_are_left_out(tmp_path, store_dir):
    missing = {"TONY_BIGBENCH_DIR": str(tmp_path / "not-installed")}
    entries = ["bigbench:task=strategyqa", f"jsonl:path={CAPITALS},method=multiple_choice_separate"]
    assert_one_line_error(tony("run", *entries, "--store", store_dir, env=missing), "not-installed is not a folder")
    assert not (Path(store_dir) / "tony.sqlite").exists()  # nothing ran
    done = tony("run", "--skip-missing-data", *entries, "--max-instances", "2", "--store", store_dir, env=missing)
    assert done.returncode == 0, done.stderr
    assert "SKIPPED bigbench:task=strategyqa: TONY_BIGBENCH_DIR=" in done.stderr
    assert "1 of 1 runs complete, 1 left out for missing data" in done.stdout
    only_missing = tony("run", "--skip-missing-data", entries[0], "--store", store_dir, env=missing)
    assert only_missing.returncode == 2 and "every run was left out" in only_missing.stderr


@pytest.mark.parametrize("size", ["-1", "0"])
def test_a_batch_size_below_one_stores_no_run(size, tmp_path):
    store = tmp_path / "store"
    entry = "synthetic_induction:max_instances=2,max_tokens=2"
    assert_one_line_error(tony("run", entry, "--batch-size", size, "--store", str(store)), "batch size")
    if (store / "tony.sqlite").exists():
        from tony.core.store import Store

        assert Store(str(store)).runs() == []  # before the fix: a complete run of 0 records, "already stored"


@pytest.mark.parametrize(
    ("suite", "fragments"),
    [
        ("runs: [5]", ["run 1 is int"]),
        ("runs: [[a, b]]", ["run 1 is list"]),
        ("defaults: [1, 2]\nruns: [synthetic_induction]", ["`defaults:` must be a mapping"]),
        ("models: gemma\nruns: [synthetic_induction]", ["`models:` must be a list"]),
        ("runs: []", ["nothing to run", "empty"]),
    ],
)
def test_suite_files_of_the_wrong_shape(suite, fragments, tmp_path, store_dir):
    path = tmp_path / "suite.yaml"
    path.write_text(suite + "\n")
    assert_one_line_error(tony("run", str(path), "--store", store_dir), *fragments)


def test_a_negative_seed_is_refused_before_running(store_dir):
    assert_one_line_error(tony("run", "synthetic_induction:max_instances=2,seed=-5", "--store", store_dir), "seed")
    assert_one_line_error(tony("run", "synthetic_induction:max_instances=2", "--seed", "-5", "--store", store_dir),
                          "seed")


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_serve_refuses_a_port_out_of_range(port, tmp_path):
    (tmp_path / "index.html").write_text("<p>site</p>")
    assert_one_line_error(tony("serve", "--out", str(tmp_path), "--port", port), "not a TCP port")
