"""The results store, the same suite on SQLite and on PostgreSQL (see the store fixtures in tests/conftest.py)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from tony.core.errors import SpecError, StoreError
from tony.core.stats import Stat
from tony.core.store import Store
from tony.core.store_artifacts import Artifact
from tony.core.store_schema import artifacts_table, records_table, resolve_url, runs_table

SPEC = {"scenario": "toy", "seed": 0}


def begin(store: Store, run_id: str, **labels: str) -> None:
    store.begin_run(run_id, "test", SPEC, labels)


def batch(*items: str) -> list[tuple[str, dict]]:
    """Records whose payload names the item, so a test can tell which write was kept."""
    return [(item, {"item": item}) for item in items]


def item_ids(store: Store, run_id: str) -> list[str]:
    return [record["item_id"] for record in store.records(run_id)]


def run_of(store: Store, run_id: str) -> dict:
    return next(run for run in store.runs() if run["run_id"] == run_id)


def scattered_ids(prefix: str, count: int) -> list[str]:
    """Item ids whose sort order is unrelated to their write order, so only seq can keep the order."""
    return [f"{hashlib.sha256(f'{prefix}-{i}'.encode()).hexdigest()[:16]}" for i in range(count)]


# runs ------------------------------------------------------------------
def test_reopening_a_store_keeps_what_was_written(store: Store) -> None:
    begin(store, "run-1")
    store.add_records("run-1", batch("a"))
    # A PostgreSQL store reopens from a plain postgresql:// URL too (psycopg is the driver).
    reopened = Store(store.url.replace("postgresql+psycopg://", "postgresql://"))
    try:
        assert reopened.url == store.url
        assert [r["run_id"] for r in reopened.runs()] == ["run-1"] and item_ids(reopened, "run-1") == ["a"]
    finally:
        reopened.close()


def test_begin_run_stores_spec_and_labels(store: Store) -> None:
    begin(store, "run-1", model="tiny")
    run = run_of(store, "run-1")
    assert (run["kind"], run["status"], run["spec"], run["labels"]) == ("test", "running", SPEC, {"model": "tiny"})
    assert run["error"] is None and run["finished_at"] is None


def test_finish_marks_complete_and_replaces_stats(store: Store) -> None:
    begin(store, "run-1")
    store.finish_run("run-1", [Stat("accuracy", 0.5, 0.4, 0.6, 10), Stat("ece", 0.1, 0.05, 0.2, 10)], wall_s=1.5)
    run = run_of(store, "run-1")
    assert (run["status"], run["wall_s"]) == ("complete", 1.5) and run["finished_at"] is not None
    assert [s["name"] for s in store.stats(["run-1"])] == ["accuracy", "ece"]

    begin(store, "run-1")
    store.finish_run("run-1", [Stat("accuracy", 0.75, 0.7, 0.8, 20, split="test", subgroup="a")], wall_s=2.0)
    [only] = store.stats(["run-1"])
    assert (only["name"], only["value"], only["ci_low"], only["ci_high"], only["n"]) == ("accuracy", 0.75, 0.7, 0.8, 20)
    assert (only["split"], only["subgroup"], only["kind"], only["labels"]) == ("test", "a", "test", {})


def test_stats_of_one_run_leave_others_alone(store: Store) -> None:
    for run_id in ("run-1", "run-2"):
        begin(store, run_id)
        store.finish_run(run_id, [Stat("accuracy", 0.5, 0.4, 0.6, 10)], wall_s=1.0)
    begin(store, "run-1")
    store.finish_run("run-1", [], wall_s=1.0)
    assert [s["run_id"] for s in store.stats()] == ["run-2"]


def test_fail_run_keeps_records_and_a_restart_clears_the_error(store: Store) -> None:
    begin(store, "run-1")
    store.add_records("run-1", batch("a", "b"))
    store.fail_run("run-1", "model server is down")
    failed = run_of(store, "run-1")
    assert (failed["status"], failed["error"]) == ("failed", "model server is down")
    assert [r["run_id"] for r in store.runs(status="failed")] == ["run-1"]
    assert store.runs(status="complete") == []

    begin(store, "run-1")
    restarted = run_of(store, "run-1")
    assert (restarted["status"], restarted["error"]) == ("running", None)
    assert restarted["created_at"] == failed["created_at"]
    assert item_ids(store, "run-1") == ["a", "b"]


def test_find_run_by_unique_prefix(store: Store) -> None:
    for run_id in ("abcdef0123", "abcdef4567", "abcdxf8901"):
        begin(store, run_id)
    assert store.find_run("abcdef01")["run_id"] == "abcdef0123"
    assert store.find_run("abcdxf8901")["run_id"] == "abcdxf8901"


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("abcde", "too short"),  # under 6 characters
        ("abcdef", "2 runs"),  # ambiguous
        ("zzzzzz", "no run"),
        ("abcd_f", "no run"),  # LIKE wildcards are plain characters
        ("abcd%f", "no run"),
    ],
)
def test_find_run_rejects_short_ambiguous_and_unknown_prefixes(store: Store, prefix: str, message: str) -> None:
    for run_id in ("abcdef0123", "abcdef4567", "abcdxf8901"):
        begin(store, run_id)
    with pytest.raises(SpecError, match=message):
        store.find_run(prefix)


# records ---------------------------------------------------------------
def test_records_are_returned_in_the_order_stored(store: Store) -> None:
    begin(store, "run-1")
    written = scattered_ids("item", 30)
    for start in range(0, 30, 7):
        store.add_records("run-1", batch(*written[start : start + 7]))
    assert item_ids(store, "run-1") == written
    assert store.done_items("run-1") == set(written)
    assert store.count_records("run-1") == 30
    assert [r["item_id"] for r in store.records("run-1", offset=10, limit=5)] == written[10:15]


def test_duplicate_items_are_ignored_and_the_first_write_kept(store: Store) -> None:
    begin(store, "run-1")
    store.add_records("run-1", [("a", {"v": 1}), ("b", {"v": 1}), ("a", {"v": 2})])
    store.add_records("run-1", [("b", {"v": 3}), ("c", {"v": 3})])
    store.add_records("run-1", [("a", {"v": 4})])
    assert store.records("run-1") == [{"v": 1, "item_id": "a"}, {"v": 1, "item_id": "b"}, {"v": 3, "item_id": "c"}]
    assert store.count_records("run-1") == 3


def test_order_kept_after_a_batch_that_repeats_stored_items(store: Store) -> None:
    begin(store, "run-1")
    store.add_records("run-1", batch("m", "n"))
    store.add_records("run-1", batch("m", "z"))  # m is ignored; z must still come before what follows
    store.add_records("run-1", batch("a"))
    assert item_ids(store, "run-1") == ["m", "n", "z", "a"]


def test_records_of_different_runs_are_separate(store: Store) -> None:
    for run_id in ("run-1", "run-2"):
        begin(store, run_id)
    store.add_records("run-1", batch("a", "b"))
    store.add_records("run-2", batch("b", "c"))
    store.add_records("run-2", [])
    assert (item_ids(store, "run-1"), item_ids(store, "run-2")) == (["a", "b"], ["b", "c"])
    assert store.done_items("run-3") == set() and store.records("run-3") == []


def test_payload_text_round_trips(store: Store) -> None:
    begin(store, "run-1")
    payloads = {
        "unicode": {"completion": "naïve café — 東京 🙂", "logprobs": [-0.5, -1.25], "meta": {"ok": True, "n": None}},
        "control": {"completion": 'a\x00b\nc\t"quoted" <b>&amp;</b>'},
        "lone-surrogate": {"completion": "broken \udcff bytes"},
    }
    store.add_records("run-1", list(payloads.items()))
    assert store.records("run-1") == [dict(payload, item_id=item) for item, payload in payloads.items()]


# streaming records -----------------------------------------------------
def streamed(store: Store, run_ids: list[str] | None = None, page: int = 500) -> list[tuple[str, str]]:
    return [(r.run_id, r.item_id) for r in store.iter_records(run_ids, batch=page)]


def set_created_at(store: Store, created: dict[str, float]) -> None:
    with store.engine.begin() as conn:
        for run_id, at in created.items():
            conn.execute(runs_table.update().where(runs_table.c.run_id == run_id).values(created_at=at))


def test_iter_records_pages_through_a_run_in_the_order_stored(store: Store) -> None:
    begin(store, "run-1")
    written = scattered_ids("item", 30)
    for start in range(0, 30, 7):
        store.add_records("run-1", batch(*written[start : start + 7]))
    # Pages of one record, of a size that does not divide 30, of exactly 30 (an empty last page) and of more.
    for page in (1, 7, 30, 500):
        records = list(store.iter_records(["run-1"], batch=page))
        assert [r.item_id for r in records] == written, page
        assert all(r.run_id == "run-1" and r.payload == {"item": r.item_id} for r in records)


def test_iter_records_gives_runs_in_the_order_asked_or_all_oldest_first(store: Store) -> None:
    for run_id in ("run-a", "run-b", "run-c"):
        begin(store, run_id)
    store.add_records("run-a", batch("a1", "a2", "a3"))
    store.add_records("run-b", batch("b1", "b2"))
    set_created_at(store, {"run-b": 1.0, "run-a": 2.0, "run-c": 3.0})  # run-c has no records
    b_then_a = [("run-b", "b1"), ("run-b", "b2"), ("run-a", "a1"), ("run-a", "a2"), ("run-a", "a3")]
    assert streamed(store, page=2) == b_then_a
    # Asked for: in that order, each run once; a run that is not there has no records.
    assert streamed(store, ["run-a", "run-b", "run-a", "no-such-run"], page=2) == b_then_a[2:] + b_then_a[:2]
    assert streamed(store, []) == []


def test_iter_records_breaks_a_tie_in_seq_by_item_id_across_pages(store: Store) -> None:
    begin(store, "run-1")
    # Rows written past add_records, sharing sequence numbers: paging must neither skip nor repeat one.
    rows = [("c", 0), ("a", 0), ("b", 1), ("d", 0), ("e", 1)]
    with store.engine.begin() as conn:
        conn.execute(records_table.insert(), [
            {"run_id": "run-1", "item_id": item, "seq": seq, "payload": "{}"} for item, seq in rows])
    for page in (1, 2, 3):
        assert [item for _, item in streamed(store, ["run-1"], page)] == ["a", "c", "d", "b", "e"]
    with pytest.raises(ValueError, match="at least 1"):
        list(store.iter_records(["run-1"], batch=0))


def test_iter_records_holds_one_page_not_the_whole_run(store: Store) -> None:
    import tracemalloc

    begin(store, "run-1")
    text = "a record's prompt and completion " * 16
    for start in range(0, 20_000, 2_000):
        store.add_records("run-1", [(f"i{n:05d}", {"n": n, "text": text, "stats": {"accuracy": n % 2}})
                                    for n in range(start, start + 2_000)])
    list(store.iter_records(["run-1"], batch=10))  # compile the queries before measuring

    tracemalloc.start()
    count = total = 0
    for record in store.iter_records(["run-1"], batch=500):
        count += 1
        total += record.payload["stats"]["accuracy"]
    streaming_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    tracemalloc.start()
    loaded = store.records("run-1")
    loaded_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert (count, total, len(loaded)) == (20_000, 10_000, 20_000)
    # One page of 500 against all 20,000 records: a fortieth, plus the fixed costs of a query.
    assert streaming_peak < loaded_peak / 10, (streaming_peak, loaded_peak)


def test_opening_a_missing_store_for_reading_creates_nothing(store_url: str, tmp_path: Path) -> None:
    with pytest.raises(StoreError) as caught:
        Store(store_url, create=False)
    message = str(caught.value)
    assert "\n" not in message
    if store_url.startswith("sqlite"):
        assert message.startswith(f"no results store in {tmp_path / 'store'}:")
        assert not (tmp_path / "store").exists()
        (tmp_path / "store").mkdir()  # a directory without a database is no store either
        with pytest.raises(StoreError, match="no results store in"):
            Store(str(tmp_path / "store"), create=False)
        assert list((tmp_path / "store").iterdir()) == []
        (tmp_path / "store" / "tony.sqlite").touch()  # an empty file is left as it is, not made a database
        with pytest.raises(StoreError, match="empty file, not a tony store"):
            Store(str(tmp_path / "store"), create=False)
        assert [(p.name, p.stat().st_size) for p in (tmp_path / "store").iterdir()] == [("tony.sqlite", 0)]
    else:
        assert "holds no tony results" in message
        engine = sa.create_engine(store_url)
        try:
            assert sa.inspect(engine).get_table_names() == []
        finally:
            engine.dispose()


def test_opening_an_existing_store_for_reading(store: Store) -> None:
    begin(store, "run-1")
    store.add_records("run-1", batch("a", "b"))
    reader = Store(store.url, create=False)
    try:
        assert streamed(reader) == [("run-1", "a"), ("run-1", "b")]
    finally:
        reader.close()


# request cache ---------------------------------------------------------
def test_request_cache_get_and_put(store: Store) -> None:
    assert store.cache_get("missing") is None
    store.cache_put_many("model-a", {"k1": {"text": "one"}, "k2": {"text": "two"}})
    store.cache_put_many("model-a", {"k1": {"text": "changed"}})
    store.cache_put_many("model-a", {})
    assert store.cache_get("k1") == {"text": "one"}
    assert store.cache_get_many(["k1", "k2", "missing"]) == {"k1": {"text": "one"}, "k2": {"text": "two"}}


def test_request_cache_looks_up_many_keys_in_chunks(store: Store) -> None:
    entries = {f"key-{i:05d}": {"i": i} for i in range(1200)}
    store.cache_put_many("model-a", entries)
    assert store.cache_get_many([*entries, "missing"]) == entries


# artifacts -------------------------------------------------------------
def test_artifacts_are_content_hashed(store: Store) -> None:
    data = b"checkpoint bytes \x00\xff"
    key = store.put_artifact("model.pt", data, run_id="run-1")
    assert key == hashlib.sha256(data).hexdigest()
    assert store.artifact_path(key).read_bytes() == data
    assert store.put_artifact("copy.pt", data) == key
    other = store.put_artifact("other.pt", b"other bytes")
    assert other != key and store.artifact_path(other).read_bytes() == b"other bytes"
    leftovers = [p.name for p in store.artifact_dir.rglob("*") if p.is_file() and p.name not in (key, other)]
    assert leftovers == []
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT key, name, size FROM artifacts ORDER BY size")).all()
    assert sorted(rows) == sorted([(other, "other.pt", 11), (key, "model.pt", len(data))])


# two processes at once -------------------------------------------------
WRITER = textwrap.dedent(
    """
    import hashlib, os, sys, time
    from tony.core.store import Store

    url, name, go, batches, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])

    def ids(prefix, count):
        return [hashlib.sha256(f"{prefix}-{i}".encode()).hexdigest()[:16] for i in range(count)]

    deadline = time.monotonic() + 120
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.005)
    store = Store(url)  # both processes may create the tables of a new store at once
    store.begin_run("shared", "test", {}, {})
    store.begin_run("own-" + name, "test", {}, {})
    common, mine, own = ids("common", batches * size), ids("shared-" + name, batches * size), ids(name, batches * size)
    for start in range(0, batches * size, size):
        part = slice(start, start + size)
        # Into the shared run: items both processes write, then items only this one writes.
        store.add_records("shared", [(i, {"by": name}) for i in common[part] + mine[part]])
        store.add_records("own-" + name, [(i, {"by": name}) for i in own[part]])
    store.close()
    """
)


def run_writers(store_url: str, workdir: Path, names: list[str], batches: int, size: int) -> None:
    """Start one writer process per name, release them together, and wait for all to succeed."""
    go = workdir / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, store_url, name, str(go), str(batches), str(size)],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    go.touch()
    for name, proc in zip(names, procs, strict=True):
        _, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"writer {name} failed:\n{stderr}"


def integrity_problems(store: Store) -> list[str]:
    """What the database itself reports: SQLite's integrity_check, or PostgreSQL's amcheck on our indexes."""
    if store.is_sqlite:
        with sqlite3.connect(sa.engine.make_url(store.url).database) as conn:
            return [row[0] for row in conn.execute("PRAGMA integrity_check") if row[0] != "ok"]
    with store.engine.begin() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'amcheck'")).first():
            return []
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS amcheck"))
        indexes = conn.execute(
            sa.text(
                "SELECT indexrelid::regclass::text FROM pg_index JOIN pg_class t ON t.oid = indrelid "
                "WHERE t.relname IN ('runs', 'records', 'stats', 'artifacts', 'request_cache')"
            )
        ).scalars()
        for index in list(indexes):
            conn.execute(sa.text("SELECT bt_index_check(CAST(:index AS regclass), true)"), {"index": index})
    return []


def in_order_of(stored: list[str], items: list[str]) -> list[str]:
    """The stored ids that belong to `items`, in stored order."""
    wanted = set(items)
    return [item for item in stored if item in wanted]


def test_concurrent_writers_lose_and_duplicate_nothing(store_url: str, tmp_path: Path) -> None:
    batches, size = 200, 4
    run_writers(store_url, tmp_path, ["A", "B"], batches, size)

    store = Store(store_url)
    try:
        writes = {name: scattered_ids(name, batches * size) for name in ("common", "shared-A", "shared-B", "A", "B")}
        expected = {"shared": [*writes["common"], *writes["shared-A"], *writes["shared-B"]]}
        expected |= {"own-A": writes["A"], "own-B": writes["B"]}
        for run_id, items in expected.items():
            stored = item_ids(store, run_id)
            assert sorted(stored) == sorted(items), run_id
            assert store.count_records(run_id) == len(items)
        assert item_ids(store, "own-A") == writes["A"] and item_ids(store, "own-B") == writes["B"]
        # In the shared run, each writer's items (and the common ones) keep the order they were written in.
        shared = item_ids(store, "shared")
        for name in ("common", "shared-A", "shared-B"):
            assert in_order_of(shared, writes[name]) == writes[name], name
        assert {r["by"] for r in store.records("own-A")} == {"A"}
        with store.engine.connect() as conn:
            per_run = conn.execute(
                sa.select(
                    records_table.c.run_id,
                    sa.func.count(),
                    sa.func.count(sa.distinct(records_table.c.item_id)),
                    sa.func.count(sa.distinct(records_table.c.seq)),
                ).group_by(records_table.c.run_id)
            ).all()
        counts = {run_id: len(items) for run_id, items in expected.items()}
        assert sorted(per_run) == sorted((run_id, n, n, n) for run_id, n in counts.items())  # rows, items, seqs
        assert sorted(r["run_id"] for r in store.runs()) == sorted(expected)
        assert integrity_problems(store) == []
    finally:
        store.close()


# errors a user can cause -----------------------------------------------
def assert_one_line_store_error(url: str, *, hidden: str = "") -> StoreError:
    with pytest.raises(StoreError) as caught:
        Store(url)
    message = str(caught.value)
    assert message.startswith("cannot open store") and "\n" not in message and "Traceback" not in message
    if hidden:
        assert hidden not in message
    return caught.value


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_postgresql_is_a_one_line_store_error() -> None:
    pytest.importorskip("psycopg")
    error = assert_one_line_store_error(f"postgresql://tony:s3cret@127.0.0.1:{free_port()}/results", hidden="s3cret")
    assert "127.0.0.1" in str(error)


def test_sqlite_under_a_file_is_a_one_line_store_error(tmp_path: Path) -> None:
    (tmp_path / "results").write_text("a file, not a directory")
    assert_one_line_store_error(str(tmp_path / "results" / "store"))


def test_sqlite_in_an_unwritable_directory_is_a_one_line_store_error(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        readonly = tmp_path / "readonly"
        readonly.mkdir(mode=0o500)
        assert_one_line_store_error(str(readonly))
        readonly.chmod(0o700)
    elif os.path.isdir("/proc"):
        assert_one_line_store_error("/proc")  # root may write anywhere, but no one creates files in /proc
    else:
        pytest.skip("as root, no unwritable directory to try")


def test_missing_database_driver_is_a_store_error() -> None:
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        error = assert_one_line_store_error("postgresql+psycopg2://tony@127.0.0.1/results")
        assert "driver" in str(error)
    else:
        pytest.skip("psycopg2 is installed")


def test_store_urls_resolve() -> None:
    assert resolve_url(None) == "sqlite:///tony-results/tony.sqlite"
    assert resolve_url("out/dir") == "sqlite:///out/dir/tony.sqlite"
    assert resolve_url("postgresql://u:p@db:5432/tony") == "postgresql+psycopg://u:p@db:5432/tony"
    assert resolve_url("postgres://db/tony") == "postgresql+psycopg://db/tony"
    assert resolve_url("postgresql+psycopg2://db/tony") == "postgresql+psycopg2://db/tony"
    assert resolve_url("sqlite:////abs/x.sqlite") == "sqlite:////abs/x.sqlite"


# what domains ask the store for ---------------------------------------
def test_runs_filter_by_kind_and_status_oldest_first(store: Store) -> None:
    for run_id, kind in (("lm-new", "lm"), ("icl-a", "icl"), ("lm-old", "lm"), ("icl-b", "icl")):
        store.begin_run(run_id, kind, SPEC, {})
    set_created_at(store, {"lm-new": 4.0, "icl-a": 2.0, "lm-old": 1.0, "icl-b": 3.0})
    store.finish_run("icl-a", [], wall_s=1.0)
    store.finish_run("lm-new", [], wall_s=1.0)
    store.fail_run("icl-b", "boom")

    def ids(**where: str) -> list[str]:
        return [run["run_id"] for run in store.runs(**where)]

    assert ids() == ["lm-old", "icl-a", "icl-b", "lm-new"]
    assert ids(kind="lm") == ["lm-old", "lm-new"] and ids(kind="icl") == ["icl-a", "icl-b"]
    assert ids(status="complete") == ["icl-a", "lm-new"] == [run["run_id"] for run in store.runs("complete")]
    assert ids(kind="icl", status="complete") == ["icl-a"] and ids(kind="lm", status="failed") == []
    assert ids(kind="vision") == []
    [failed] = store.runs(kind="icl", status="failed")
    assert (failed["spec"], failed["labels"], failed["error"]) == (SPEC, {}, "boom")


def test_run_finds_one_run_by_its_exact_id(store: Store) -> None:
    for run_id in ("abcdef0123", "abcdef4567"):
        begin(store, run_id, model=run_id)
    store.finish_run("abcdef4567", [], wall_s=2.5)
    found = store.run("abcdef4567")
    assert found == run_of(store, "abcdef4567")
    assert (found["status"], found["wall_s"], found["spec"], found["labels"]) == ("complete", 2.5, SPEC,
                                                                                    {"model": "abcdef4567"})
    assert store.run("abcdef0123")["status"] == "running"
    assert store.run("abcdef") is None and store.run("abcdef01234") is None and store.run("") is None
    assert store.run("abcdef%") is None and store.run("abcdef012_") is None  # no LIKE wildcards


def test_stats_by_run_groups_rows_and_names_every_run_asked_for(store: Store) -> None:
    for run_id in ("run-1", "run-2", "run-3"):
        begin(store, run_id, model=run_id)
    store.finish_run("run-1", [Stat("ece", 0.1, 0.0, 0.2, 5), Stat("accuracy", 0.5, 0.4, 0.6, 5, split="test")], 1.0)
    store.finish_run("run-2", [Stat("accuracy", 0.7, 0.6, 0.8, 9)], 1.0)

    grouped = store.stats_by_run(iter(["run-2", "run-1", "run-3", "run-2"]))  # any iterable, repeats once
    assert list(grouped) == ["run-2", "run-1", "run-3"]
    assert [(r["name"], r["split"], r["value"]) for r in grouped["run-1"]] == [("accuracy", "test", 0.5),
                                                                               ("ece", "", 0.1)]
    assert [r["labels"] for r in grouped["run-2"]] == [{"model": "run-2"}] and grouped["run-3"] == []
    assert grouped["run-1"] == store.stats(["run-1"])  # the same rows, in the same order
    assert store.stats_by_run(["run-2"]) == {"run-2": store.stats(["run-2"])} and store.stats_by_run([]) == {}


def set_artifact_created_at(store: Store, created: dict[str, float]) -> None:
    with store.engine.begin() as conn:
        for key, at in created.items():
            conn.execute(artifacts_table.update().where(artifacts_table.c.key == key).values(created_at=at))


def test_artifacts_by_name_newest_first_and_the_latest(store: Store) -> None:
    old, new, tied = (store.put_artifact("checkpoint/a", data, run_id="run-1") for data in (b"old", b"new", b"tie"))
    other = store.put_artifact("checkpoint/b", b"other")
    set_artifact_created_at(store, {old: 1.0, new: 3.0, tied: 1.0, other: 9.0})

    found = store.artifacts("checkpoint/a")
    assert [a.key for a in found] == [new, *sorted([old, tied])]  # a tie in time goes by key
    assert found[0] == Artifact(new, "checkpoint/a", "run-1", 3, 3.0, store.artifact_path(new))
    assert found[0].path.read_bytes() == b"new"
    assert store.latest_artifact("checkpoint/a") == found[0]
    assert [a.key for a in store.artifacts("checkpoint/b")] == [other]
    assert store.latest_artifact("checkpoint/b").run_id is None
    assert store.artifacts("checkpoint") == [] and store.latest_artifact("checkpoint/c") is None


def test_drop_artifacts_removes_rows_and_files_but_the_kept_one_and_other_names(store: Store) -> None:
    keys = [store.put_artifact("checkpoint/a", data) for data in (b"one", b"two", b"three")]
    other = store.put_artifact("checkpoint/b", b"other")
    store.artifact_path(keys[0]).unlink()  # a file already gone is no error

    assert store.drop_artifacts("checkpoint/a", keep=keys[2]) == 2
    assert [a.key for a in store.artifacts("checkpoint/a")] == [keys[2]]
    assert [store.artifact_path(k).is_file() for k in keys] == [False, False, True]
    assert store.drop_artifacts("checkpoint/a", keep=keys[2]) == 0
    assert store.drop_artifacts("checkpoint/a", keep="not a stored key") == 1 and store.artifacts("checkpoint/a") == []
    assert not store.artifact_path(keys[2]).exists() and store.drop_artifacts("checkpoint/a") == 0
    assert [a.key for a in store.artifacts("checkpoint/b")] == [other] and store.artifact_path(other).is_file()
    assert store.drop_artifacts("checkpoint/b") == 1 and not store.artifact_path(other).exists()


def test_drop_artifact_removes_one_by_key(store: Store) -> None:
    gone, kept = store.put_artifact("checkpoint/a", b"gone"), store.put_artifact("checkpoint/a", b"kept")
    store.artifact_path(gone).unlink()
    store.drop_artifact(gone)
    unnamed = store.artifact_path("ab" + "0" * 62)
    unnamed.parent.mkdir(parents=True, exist_ok=True)
    unnamed.write_bytes(b"no row names me")
    store.drop_artifact(unnamed.name)  # not stored: its file is not the store's to delete
    assert unnamed.read_bytes() == b"no row names me"
    assert [a.key for a in store.artifacts("checkpoint/a")] == [kept] and store.artifact_path(kept).is_file()
    store.drop_artifact(kept)
    assert store.artifacts("checkpoint/a") == [] and not store.artifact_path(kept).exists()


def test_an_artifact_file_that_cannot_be_deleted_is_a_one_line_store_error(store: Store) -> None:
    key = store.put_artifact("checkpoint/a", b"stuck")
    path = store.artifact_path(key)
    path.unlink()
    path.mkdir()  # unlink() cannot remove a directory, whoever runs the test
    with pytest.raises(StoreError, match=f"cannot delete artifact {key[:12]}") as caught:
        store.drop_artifacts("checkpoint/a")
    assert "\n" not in str(caught.value) and store.artifacts("checkpoint/a") == []  # the row went first
