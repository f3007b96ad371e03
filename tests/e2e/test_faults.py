"""A model server that is down or misbehaves: that run fails with a clear error, the suite's other
runs finish, nothing stored is lost, and API keys never reach the store or the output. A parallel run
killed with kill -9 leaves no worker behind, and the next run resumes it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import CAPITALS, REPO, tony
from flaky_server import FlakyServer

GENERATION = f"jsonl:path={CAPITALS},method=generation,max_tokens=4"
FAST_RETRIES = "model.max_retries=1,model.timeout_s=1"


def openai_entry(base_url: str, extra: str = "") -> str:
    return f"{GENERATION},model=openai,model.base_url={base_url},model.model=m,{FAST_RETRIES}{extra}"


def runs(store_dir: str) -> list[tuple]:
    with sqlite3.connect(Path(store_dir) / "tony.sqlite") as conn:
        return conn.execute("select status, error, (select count(*) from records r where r.run_id = u.run_id) "
                            "from runs u order by created_at").fetchall()


@pytest.mark.parametrize("failure", ["500", "429", "garbage", "hang", "reset", "truncated"])
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


def test_a_slow_server_within_the_timeout_completes_the_run(store_dir):
    server = FlakyServer(healthy_requests=0, failure="slow")
    try:
        tony("run", openai_entry(server.base_url), "--store", store_dir, check=True)
    finally:
        server.stop()
    assert runs(store_dir) == [("complete", None, 24)]


def test_a_full_disk_stops_the_run_in_one_line_and_the_rerun_resumes_it(store_dir):
    """The store's files may not grow past 150 KB (RLIMIT_FSIZE: a write past it fails as on a full disk)."""
    import resource

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, 150_000))

    server = FlakyServer(healthy_requests=10**6, failure="500")
    entry = f"synthetic_induction:num_instances=300,max_tokens=4,model=openai,model.base_url={server.base_url}," \
            "model.model=m"
    command = [sys.executable, "-m", "tony.cli", "run", entry, "--store", store_dir]
    try:
        full = subprocess.run(command, cwd=REPO, capture_output=True, text=True, preexec_fn=small_disk, timeout=300)
        assert full.returncode != 0 and "Traceback" not in full.stderr
        assert len(full.stderr.strip().splitlines()) == 1 and "cannot write to store" in full.stderr, full.stderr
        with sqlite3.connect(Path(store_dir) / "tony.sqlite") as conn:
            kept = conn.execute("select item_id, payload from records order by seq").fetchall()
            assert conn.execute("pragma integrity_check").fetchall() == [("ok",)]
        assert 0 < len(kept) < 300
        tony("run", entry, "--store", store_dir, check=True)
    finally:
        server.stop()
    with sqlite3.connect(Path(store_dir) / "tony.sqlite") as conn:
        records = conn.execute("select item_id, payload from records order by seq").fetchall()
    assert len(records) == 300 and records[: len(kept)] == kept  # what was stored before is kept as it was
    assert runs(store_dir) == [("complete", None, 300)]


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


TWO_RUNS = ("synthetic_induction:num_instances=16,max_tokens=4", "synthetic_induction:num_instances=16,max_tokens=5")
TIMING_STATS = {"wall_s_per_instance", "wall_s_per_request", "tokens_per_second"}


def _workers_of(parent: int) -> list[int]:
    """Pids of the process-pool workers (multiprocessing's spawn_main) whose parent is `parent` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent and b"spawn_main" in (stat.parent / "cmdline").read_bytes():
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    return found


def _alive(pid: int) -> bool:
    """Running or sleeping: not gone and not a zombie waiting for a reaper (an orphan's may never come)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _stats(store_dir: str) -> set[tuple]:
    rows = json.loads(tony("results", "--store", store_dir, "--format", "json", check=True).stdout)
    return {(r["scenario"], r["metric"], r["split"], r["subgroup"], r["value"], r["ci_low"], r["ci_high"], r["n"])
            for r in rows if r["metric"] not in TIMING_STATS}


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the worker processes through /proc")
def test_kill_9_of_a_parallel_run_ends_its_workers_and_the_next_run_resumes(tmp_path):
    killed, clean = str(tmp_path / "killed"), str(tmp_path / "clean")
    command = [sys.executable, "-m", "tony.cli", "run", *TWO_RUNS, "--workers", "2", "--batch-size", "2",
               "--store", killed]
    parent = subprocess.Popen(command, cwd=REPO, env={**os.environ, "TONY_PROGRESS": "0"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and parent.poll() is None:
            time.sleep(0.2)
            workers = workers if len(workers) == 2 else _workers_of(parent.pid)
            try:
                per_run = runs(killed)
            except sqlite3.OperationalError:
                continue  # the store is still being created
            if len(per_run) == 2 and all(kept >= 2 for _, _, kept in per_run):
                break  # both workers are computing and writing
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert len(workers) == 2, "tony run --workers 2 should have started two worker processes"
        partial = sum(kept for _, _, kept in runs(killed))
        assert partial < 32, "the kill must land in the middle of the runs"
        # The workers die with their parent: none goes on computing, writing or holding the store.
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)], "worker processes outlived their killed parent"
    finally:
        for pid in workers:  # before the fix, orphans: do not leave them running
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    tony("run", *TWO_RUNS, "--workers", "2", "--batch-size", "2", "--store", killed, check=True)
    tony("run", *TWO_RUNS, "--store", clean, check=True)
    with sqlite3.connect(Path(killed) / "tony.sqlite") as conn:
        assert conn.execute("select count(*), count(distinct run_id || ' ' || item_id) from records").fetchall() == [
            (32, 32)]
    assert [status for status, _, _ in runs(killed)] == ["complete", "complete"]
    assert _stats(killed) == _stats(clean)


WATCHED_WORKER = ("import os, threading, time; from tony.core.executors import _watch_parent; "
                  "threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start(); "
                  "print(os.getpid(), flush=True); time.sleep(600)")
PARENT_OF_WATCHED = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {WATCHED_WORKER!r}]); " \
                    "time.sleep(600)"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads process states from /proc")
def test_the_watchdog_used_where_there_is_no_parent_death_signal_ends_an_orphan():
    # Where prctl is missing (macOS, or refused), a thread polling the parent pid is what ends the worker.
    parent = subprocess.Popen([sys.executable, "-c", PARENT_OF_WATCHED], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())  # the worker writes to the pipe it inherited
    try:
        assert _alive(worker)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 30
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker), "the watchdog did not end the orphaned worker"
    finally:
        parent.stdout.close()
        if _alive(worker):
            os.kill(worker, signal.SIGKILL)
