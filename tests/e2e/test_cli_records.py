"""`tony records`: every stored record of real runs (a local OpenAI-compatible server answers, no model
loads), as JSON lines and as CSV, with runs chosen by id prefix; bad input is a one-line error."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from cli_helpers import CAPITALS, tony
from flaky_server import FlakyServer
from test_cli_errors import assert_one_line_error

from tony.lm.export import RECORD_FIELDS, csv_row

COUNTRIES = 24
"""Lines of configs/data/world_capitals.jsonl."""


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """A store with two LM runs on the capitals file, answered "Paris" by a local server: a generation run
    with each question also lowercased, and a three-question one; (store directory, {method: run id})."""
    store = str(tmp_path_factory.mktemp("records") / "store")
    server = FlakyServer(healthy_requests=10**6, failure="500")
    model = f"model=openai,model.base_url={server.base_url},model.model=m,model.max_retries=1"
    try:
        tony("run", f"jsonl:path={CAPITALS},method=generation,max_tokens=4,perturbations=lowercase,{model}",
             f"jsonl:path={CAPITALS},method=generation,max_tokens=8,max_instances=3,{model}",
             "--store", store, check=True)
    finally:
        server.stop()
    results = json.loads(tony("results", "--store", store, "--format", "json", check=True).stdout)
    runs = {row["run"] for row in results}
    assert len(runs) == 2
    return store, {"perturbed": results[0]["run"], "small": results[-1]["run"]}


def jsonl_rows(*args: str) -> list[dict]:
    done = tony("records", *args, check=True)
    assert done.stderr == ""
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_every_record_as_a_json_line(stored) -> None:
    store, runs = stored
    rows = jsonl_rows("--store", store)
    assert len(rows) == 2 * COUNTRIES + 3 and all(tuple(row) == RECORD_FIELDS for row in rows)
    perturbed = [row for row in rows if row["run"] == runs["perturbed"]]
    originals = {row["instance_id"]: row for row in perturbed if row["perturbation"] is None}
    variants = {row["instance_id"]: row for row in perturbed if row["perturbation"] == "lowercase"}
    assert len(originals) == len(variants) == COUNTRIES

    france, germany = originals["fr"], originals["de"]
    assert {k: france[k] for k in ("scenario", "model", "method", "draw", "split", "subgroup", "extra")} == {
        "scenario": f"jsonl:path={CAPITALS}", "model": "openai", "method": "generation", "draw": 0, "split": "test",
        "subgroup": "", "extra": {}}
    assert france["prompt"] == "Q: What is the capital of France?\nA:"  # exactly as sent
    assert (france["prediction"], france["correct"]) == (" Paris", True)  # the completion as it came back
    assert france["stats"] == {"exact_match": 1.0, "quasi_exact_match": 1.0, "f1": 1.0}
    assert (germany["prediction"], germany["correct"], germany["stats"]["exact_match"]) == (" Paris", False, 0.0)
    assert variants["fr"]["prompt"] == "Q: what is the capital of france?\nA:"
    assert variants["fr"]["correct"] is True and variants["de"]["correct"] is False


def test_csv_parses_back_to_the_same_rows(stored) -> None:
    store, _ = stored
    rows = jsonl_rows("--store", store)
    done = tony("records", "--store", store, "--format", "csv", check=True)
    parsed = list(csv.DictReader(io.StringIO(done.stdout, newline="")))
    assert parsed == [csv_row(row) for row in rows]
    assert [json.loads(row["stats"]) for row in parsed] == [row["stats"] for row in rows]
    assert {row["perturbation"] for row in parsed} == {"", "lowercase"}
    assert parsed[0]["prompt"].endswith("\nA:")  # a newline inside a quoted cell survives


def test_runs_chosen_by_id_prefix(stored) -> None:
    store, runs = stored
    small = jsonl_rows("--store", store, "--run", runs["small"][:7])
    assert len(small) == 3 and {row["run"] for row in small} == {runs["small"]}
    both = jsonl_rows("--store", store, "--run", runs["small"][:8], "--run", runs["perturbed"])
    assert [row["run"] for row in both] == [runs["small"]] * 3 + [runs["perturbed"]] * 2 * COUNTRIES


def test_unknown_run_id(stored) -> None:
    store, _ = stored
    done = tony("records", "--store", store, "--run", "zzzzzzzz")
    assert_one_line_error(done, "no run", "zzzzzzzz")
    assert done.stdout == ""
    assert_one_line_error(tony("records", "--store", store, "--run", "abc"), "too short")


def test_a_store_that_does_not_exist_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "no-store"
    done = tony("records", "--store", str(missing))
    assert_one_line_error(done, "no results store in", str(missing))
    assert not missing.exists()
    (tmp_path / "file").write_text("not a store")
    assert_one_line_error(tony("records", "--store", str(tmp_path / "file")), "no results store in")
    assert_one_line_error(tony("records", "--store", str(tmp_path), "--format", "xml"), "invalid choice")


def test_a_store_without_language_model_runs(tmp_path: Path) -> None:
    from tony.core.store import Store

    Store(str(tmp_path / "empty")).close()
    done = tony("records", "--store", str(tmp_path / "empty"))
    assert done.returncode == 0 and done.stdout == ""
    assert "no records" in done.stderr
