"""A store this user cannot write (another user's results, a copy on read-only media) can still be read.

The reading runs in a child process as another user: as root (CI) the child drops to `nobody`, since root may write
any file; otherwise the store's files are made read-only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tony.core.stats import Stat
from tony.core.store import Store

NOBODY = 65534
READ = """
import json, sys
from tony.core.store import Store
store = Store(sys.argv[1], create=False)
print(json.dumps({"read_only": store.read_only, "records": store.records("r"),
                  "stats": [[s["name"], s["value"], s["n"]] for s in store.stats(["r"])]}))
"""
WRITE = """
import sys
from tony.core.errors import StoreError
from tony.core.store import Store
try:
    Store(sys.argv[1], create=False).begin_run("other", "test", {}, {})
except StoreError as err:
    print(err)
"""


def as_reader(*args: str) -> subprocess.CompletedProcess:
    """Run a command as a user who cannot write the store: `nobody` through util-linux's setpriv, as root."""
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to read the store as another user"
        args = (setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *args)
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, cwd="/")


@pytest.fixture
def store_dir() -> Iterator[Path]:
    """A store with one run, in a folder other users may enter (pytest's tmp_path is private to its user)."""
    folder = Path(tempfile.mkdtemp(prefix="tony-ro-"))
    folder.chmod(0o755)
    store = Store(str(folder / "store"))
    store.begin_run("r", "test", {"n": 3}, {"scenario": "count"})
    store.add_records("r", [(f"item-{i}", {"square": i * i}) for i in range(3)])
    store.finish_run("r", [Stat("square_mean", 5 / 3, 0.0, 4.0, 3)], 0.1)
    store.close()
    yield folder / "store"
    shutil.rmtree(folder)


def make_read_only(store_dir: Path) -> None:
    for path in (*store_dir.iterdir(), store_dir):
        path.chmod(0o555 if path.is_dir() else 0o444)


def read(store_dir: Path) -> dict:
    done = as_reader(sys.executable, "-c", READ, str(store_dir))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_read_only_store_reads_whole_and_is_left_as_it_was(store_dir: Path) -> None:
    make_read_only(store_dir)
    before = sorted(p.name for p in store_dir.iterdir())
    seen = read(store_dir)
    assert seen["read_only"] is True
    assert [(r["item_id"], r["square"]) for r in seen["records"]] == [("item-0", 0), ("item-1", 1), ("item-2", 4)]
    assert seen["stats"] == [["square_mean", pytest.approx(5 / 3), 3]]
    assert sorted(p.name for p in store_dir.iterdir()) == before  # no journal files left by the reader


def test_a_read_only_store_being_written_is_read_through_the_writers_index(store_dir: Path) -> None:
    writer = Store(str(store_dir))
    try:
        with writer.engine.connect():  # an open connection keeps the WAL index (-shm) in place
            writer.add_records("r", [("item-3", {"square": 9})])  # in the WAL, not yet in the database file
            make_read_only(store_dir)
            assert (store_dir / "tony.sqlite-shm").exists()
            assert [r["item_id"] for r in read(store_dir)["records"]][-1] == "item-3"
    finally:
        writer.close()


def test_writing_to_a_read_only_store_is_a_one_line_error_and_loses_nothing(store_dir: Path) -> None:
    make_read_only(store_dir)
    refused = as_reader(sys.executable, "-c", WRITE, str(store_dir))
    assert refused.stdout.startswith("store ") and "read-only" in refused.stdout, refused.stderr
    assert refused.stdout.count("\n") == 1
    tony = str(Path(sys.executable).with_name("tony"))
    run = as_reader(tony, "run", "synthetic_induction:num_instances=2,max_tokens=2", "--store", str(store_dir))
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "--store" in run.stderr
    assert len(read(store_dir)["records"]) == 3
