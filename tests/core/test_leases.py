"""Leases on a run's items: processes running one spec share its items, and a killed one's items are taken over.

Every test runs on SQLite and on a real PostgreSQL server (the `store_url` fixture)."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from lease_worker import CountSpec, CountTask

from tony.core.runner import execute
from tony.core.store import Store
from tony.core.store_leases import new_owner
from tony.core.store_schema import leases_table

WORKER = Path(__file__).with_name("lease_worker.py")
N, BATCH = 60, 4
MEAN_SQUARE = (N - 1) * (2 * N - 1) / 6  # mean of i**2 for i in 0..N-1


def run_id(n: int = N) -> str:
    return CountSpec(n=n).key()


def worker(store_url: str, log: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), store_url, str(log), str(N), "--batch-size", str(BATCH),
                             *args], stderr=subprocess.PIPE, text=True)


def logged(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def lease_rows(store: Store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(leases_table)).scalar_one()


def assert_complete_and_right(store: Store) -> None:
    run = store.run(run_id())
    assert run is not None and run["status"] == "complete"
    records = store.records(run_id())
    assert sorted(r["item_id"] for r in records) == [f"item-{i:04d}" for i in range(N)]
    assert all(r["square"] == int(r["item_id"][5:]) ** 2 for r in records)
    (stat,) = store.stats([run_id()])
    assert stat["value"] == pytest.approx(MEAN_SQUARE) and stat["n"] == N


def test_two_processes_on_one_spec_share_its_items(store_url: str, tmp_path: Path) -> None:
    Store(store_url).close()  # tables first, so the workers do not race to create them
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    ready = [tmp_path / "a.ready", tmp_path / "b.ready"]
    go = tmp_path / "go"
    procs = [worker(store_url, log, "--delay-s", "0.05", "--ready", str(r), "--go", str(go))
             for log, r in zip(logs, ready, strict=True)]
    while not all(r.exists() for r in ready):
        assert all(p.poll() is None for p in procs), [p.stderr.read() for p in procs if p.stderr]
        time.sleep(0.01)
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    computed_a, computed_b = logged(logs[0]), logged(logs[1])
    assert computed_a and computed_b  # both worked
    assert not set(computed_a) & set(computed_b)  # on different items
    assert len(computed_a) + len(computed_b) == N  # each item once
    store = Store(store_url)
    try:
        assert_complete_and_right(store)
        assert lease_rows(store) == 0
    finally:
        store.close()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kill_9_at_a_random_batch_boundary_resumes_at_once_to_the_same_records(store_url: str, tmp_path: Path,
                                                                                seed: int) -> None:
    kill_at = random.Random(seed).randrange(1, N // BATCH)
    killed = worker(store_url, tmp_path / "killed.log", "--kill-at-batch", str(kill_at))
    killed.communicate(timeout=120)
    assert killed.returncode == -9
    store = Store(store_url)
    try:
        assert store.count_records(run_id()) == kill_at * BATCH  # every batch before the kill, nothing after
        assert lease_rows(store) == BATCH  # the batch it was starting is still leased ...
        assert store.leased_items(run_id()) == {}  # ... by a process that is gone, so no one waits for it
        resumed = worker(store_url, tmp_path / "resumed.log")
        _, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, err
        assert logged(tmp_path / "resumed.log") == [f"item-{i:04d}" for i in range(kill_at * BATCH, N)]
        assert_complete_and_right(store)
        assert lease_rows(store) == 0
    finally:
        store.close()


def test_claims_skip_live_leases_and_stored_items_and_take_over_expired_ones(store: Store) -> None:
    store.begin_run("r", "test", {}, {})
    first, second = new_owner(), new_owner()
    assert store.claim_items("r", first, ["a", "b"]) == (["a", "b"], [])
    assert store.claim_items("r", second, ["a", "b", "c"]) == (["c"], [])
    assert store.leased_items("r") == {"a": first, "b": first, "c": second}
    store.add_records("r", [("a", {})])
    store.release_leases("r", first)
    assert store.claim_items("r", second, ["a", "b", "d"]) == (["b", "d"], ["a"])
    store.claim_items("r", first, ["e"], ttl_s=-1.0)  # already expired
    assert "e" not in store.leased_items("r")
    assert store.claim_items("r", second, ["e"]) == (["e"], [])


def test_a_lease_of_a_dead_local_process_is_free_but_not_one_of_another_machine(store: Store) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_owner = new_owner().split(":")[0] + f":{int(gone.stdout)}:dead"
    store.begin_run("r", "test", {}, {})
    assert store.claim_items("r", dead_owner, ["a"]) == (["a"], [])
    assert store.claim_items("r", "another-machine:1:x", ["b"]) == (["b"], [])
    assert store.leased_items("r") == {"b": "another-machine:1:x"}
    assert store.claim_items("r", new_owner(), ["a", "b"])[0] == ["a"]


def test_a_lease_of_an_ended_process_not_yet_reaped_is_free(store: Store, tmp_path: Path) -> None:
    # A worker killed with its parent is reparented; where no one reaps it (a container's init may not), it stays
    # a zombie that os.kill(pid, 0) still finds. Here this test is the parent and does not reap it until the end.
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    stat = Path(f"/proc/{ended.pid}/stat")
    if not stat.exists():
        pytest.skip("needs Linux /proc to see a zombie")
    deadline = time.monotonic() + 30
    while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z" and time.monotonic() < deadline:
        time.sleep(0.01)
    store.begin_run("r", "test", {}, {})
    zombie_owner = new_owner().split(":")[0] + f":{ended.pid}:zombie"
    assert store.claim_items("r", zombie_owner, ["a"]) == (["a"], [])
    assert store.leased_items("r") == {}
    assert store.claim_items("r", new_owner(), ["a"])[0] == ["a"]
    ended.wait()


def test_a_run_waits_for_items_another_process_holds_and_does_not_recompute_them(store: Store,
                                                                                  tmp_path: Path) -> None:
    other = new_owner()  # this process's pid: alive, so its leases hold
    spec = CountSpec(n=12)
    store.begin_run(spec.key(), "test-count", spec.model_dump(mode="json"), {})
    held = ["item-0004", "item-0005"]
    assert store.claim_items(spec.key(), other, held) == (held, [])
    task = CountTask(spec, tmp_path / "log", None, 0.0)
    finished = threading.Event()

    def run_it() -> None:
        execute(task, store, batch_size=BATCH)
        finished.set()

    thread = threading.Thread(target=run_it)
    thread.start()
    deadline = time.monotonic() + 60
    while store.count_records(spec.key()) < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not finished.is_set()  # everything else is stored, and it waits for the held items
    store.add_records(spec.key(), [(item, {"square": int(item[5:]) ** 2}) for item in held])
    store.release_leases(spec.key(), other)
    thread.join(timeout=60)
    assert finished.is_set()
    assert sorted(logged(tmp_path / "log")) == sorted(f"item-{i:04d}" for i in range(12) if i not in (4, 5))
    assert store.run(spec.key())["status"] == "complete"
