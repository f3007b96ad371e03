"""A model server that is down or misbehaves: that run fails with a clear error, the suite's other
runs finish, nothing stored is lost, and API keys never reach the store or the output."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cli_helpers import CAPITALS, tony
from flaky_server import FlakyServer

GENERATION = f"jsonl:path={CAPITALS},method=generation,max_tokens=4"
FAST_RETRIES = "model.max_retries=1,model.timeout_s=1"


def openai_entry(base_url: str, extra: str = "") -> str:
    return f"{GENERATION},model=openai,model.base_url={base_url},model.model=m,{FAST_RETRIES}{extra}"


def runs(store_dir: str) -> list[tuple]:
    with sqlite3.connect(Path(store_dir) / "tony.sqlite") as conn:
        return conn.execute("select status, error, (select count(*) from records r where r.run_id = u.run_id) "
                            "from runs u order by created_at").fetchall()


@pytest.mark.parametrize("failure", ["500", "429", "garbage", "hang"])
def test_a_failing_server_fails_its_run_only_and_keeps_what_was_stored(failure, store_dir):
    server = FlakyServer(healthy_requests=8, failure=failure)
    try:
        done = tony("run", openai_entry(server.base_url), "synthetic_induction:num_instances=3,max_tokens=4",
                    "--store", store_dir, "--batch-size", "4")
    finally:
        server.stop()
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (status_a, error_a, kept_a), (status_b, _, kept_b) = runs(store_dir)
    assert status_a == "failed" and server.base_url in error_a and kept_a == 8  # two whole batches kept
    assert status_b == "complete" and kept_b == 3
    failed_line = [line for line in done.stderr.splitlines() if line.startswith("FAILED")]
    assert len(failed_line) == 1 and server.base_url in failed_line[0]


def test_the_run_resumes_when_the_server_is_back(store_dir):
    broken = FlakyServer(healthy_requests=8, failure="500")
    entry = openai_entry(broken.base_url)
    tony("run", entry, "--store", store_dir, "--batch-size", "4")
    broken.stop()
    healthy = FlakyServer(healthy_requests=10**6, failure="500", port=broken.port)  # back at the same URL
    try:
        tony("run", entry, "--store", store_dir, "--batch-size", "4", check=True)
    finally:
        healthy.stop()
    assert healthy.requests == 24 - 8  # only what was not stored is asked again
    assert runs(store_dir) == [("complete", None, 24)]


def test_a_server_that_is_down(store_dir):
    done = tony("run", openai_entry("http://127.0.0.1:9/v1"), "--store", store_dir)
    assert done.returncode == 1
    assert "is it running?" in done.stderr


def test_api_keys_never_reach_the_store_or_the_output(store_dir, tmp_path):
    secret = "sk-tony-test-7f3a9c2e51d04b8e"
    server = FlakyServer(healthy_requests=10**6, failure="500")
    try:
        done = tony("run", openai_entry(server.base_url, ",model.api_key_env=TONY_TEST_KEY"),
                    "--store", store_dir, env={"TONY_TEST_KEY": secret}, check=True)
        results = tony("results", "--store", store_dir, "--format", "json", check=True)
    finally:
        server.stop()
    assert server.authorization[0] == f"Bearer {secret}"  # the key was used ...
    assert secret not in done.stdout + done.stderr + results.stdout  # ... and never shown
    for path in Path(store_dir).rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
