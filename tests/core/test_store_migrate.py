"""Stores written before stats had structured identities: read as they are, migrated once when opened for writing,
and every command gives the numbers it gave on them (tests/data/stores/v1: a store and what tony said of it at
commit bdc4737, written by tests/data/stores/make_v1_store.py).

A later migration step gives runs new ids (spec keys), so runs are matched by their labels, not their ids.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from store_copy import copy_store_tables
from test_store_read_only import as_reader, make_read_only

from tony import api
from tony.cli import _is_headline
from tony.core import store_migrate
from tony.core.errors import StoreError
from tony.core.metric_info import Direction
from tony.core.stat_id import StatId
from tony.core.store import Store
from tony.core.store_migrate import LATEST_VERSION, Step, add_stat_identity, upgrade
from tony.core.store_schema import meta_table
from tony.lm.metrics.families import FAMILIES
from tony.lm.report.leaderboard import _cell, collect, family_keys, win_rates

V1 = Path(__file__).resolve().parents[1] / "data" / "stores" / "v1"
EXPECTED = json.loads((V1 / "expected.json").read_text())
NEW_RESULT_FIELDS = ("family", "variant", "higher_is_better")


def same(a: Any, b: Any) -> bool:
    """Equal as JSON (tuples as lists, NaN equal to NaN as a store's missing values are), numbers to 1e-12: a
    recomputed interval (`tony compare`'s) may move in its last digits with the bootstrap's arithmetic."""
    a, b = json.loads(json.dumps(a)), json.loads(json.dumps(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float | int) and not isinstance(b, bool):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def as_v1_showed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`results` rows without the fields v1 did not have, and without the run id (which migration may change)."""
    return [{k: v for k, v in row.items() if k not in (*NEW_RESULT_FIELDS, "run")} for row in rows]


def run_now(store: str, v1_run_id: str) -> str:
    """The id, in `store`, of the run that had this id in the v1 store (the run with the same labels)."""
    row = next(r for r in EXPECTED["results_all"] if v1_run_id.startswith(r["run"]))
    labels = {k: row[k] for k in ("scenario", "model", "method")}
    (found,) = [r["run_id"] for r in Store(store, create=False).runs() if r["labels"] == labels]
    return found


def stat_key(row: dict[str, Any]) -> tuple[str, ...]:
    """A stat row's run (by the labels `results` shows, which migration keeps) and its name, split and subgroup."""
    labels = row["labels"]
    return (*(labels.get(k, "") for k in ("scenario", "model", "method")), row["name"], row["split"], row["subgroup"])


def copy_v1(folder: Path) -> str:
    folder.mkdir(parents=True)
    shutil.copy(V1 / "tony.sqlite", folder / "tony.sqlite")
    return str(folder)


def schema_version(folder: str) -> int | None:
    with sqlite3.connect(Path(folder) / "tony.sqlite") as conn:
        if not conn.execute("select 1 from sqlite_master where name = 'meta'").fetchall():
            return None
        return int(conn.execute("select value from meta where key = 'schema_version'").fetchone()[0])


@pytest.fixture(params=["read as it is", "migrated"])
def v1_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A copy of the v1 store, only read (its stats' identities from their names) or first migrated."""
    folder = copy_v1(tmp_path / "v1")
    if request.param == "migrated":
        Store(folder).close()
        assert schema_version(folder) == LATEST_VERSION
    return folder


def test_reading_an_old_store_does_not_migrate_it(tmp_path: Path):
    folder = copy_v1(tmp_path / "v1")
    rows = Store(folder, create=False).stats()
    assert schema_version(folder) is None
    with sqlite3.connect(Path(folder) / "tony.sqlite") as conn:
        assert "metric" not in {c[1] for c in conn.execute("pragma table_info(stats)")}
    read = {stat_key(r): r for r in rows}
    migrated = Store(folder).stats()
    assert len(migrated) == len(read) == 209
    for row in migrated:  # the same identity, direction and numbers, read or stored
        assert same({**row, "run_id": "", "labels": {}}, {**read[stat_key(row)], "run_id": "", "labels": {}})


def test_a_store_is_migrated_once(tmp_path: Path):
    folder = copy_v1(tmp_path / "v1")
    store = Store(folder)
    assert schema_version(folder) == LATEST_VERSION
    assert upgrade(store.writer) == []  # already at the latest version: no step runs again
    with store.writer.begin() as conn:  # and the step itself finds nothing left to fill
        assert add_stat_identity(conn) == 0
    rows = {(r["name"], r["split"]): r for r in store.stats() if not r["subgroup"]
            and r["labels"]["scenario"].startswith("synthetic") and r["labels"]["model"] == "gemma-3-270m"}
    assert StatId.of_row(rows["exact_match", ""]) == StatId("exact_match", "accuracy")
    assert rows["exact_match", ""]["higher_is_better"] and rows["tokens_per_second", ""]["family"] == "efficiency"


def test_results_give_the_numbers_they_gave(v1_store: str):
    every = api.results(v1_store, everything=True)
    assert same(as_v1_showed(every), as_v1_showed(EXPECTED["results_all"]))
    v1_shown = as_v1_showed(EXPECTED["results"])
    assert same([r for r in as_v1_showed(api.results(v1_store)) if r in v1_shown], v1_shown)
    shown = api.results(v1_store)
    # Every domain's stats now, ICL's error at each number of in-context examples and the multi-label model's
    # accuracies included; still none of one draw, one subgroup or one perturbation.
    icl = {(r["metric"], r["split"]) for r in shown if r["model"] == "transformer-tiny"}
    assert icl == {(f"nse{at}", split) for at in ("", *(f"@{k}" for k in range(8)))
                   for split in ("", "baseline:least_squares")}
    assert {r["metric"] for r in shown if r["model"] == "main"} >= {"top1", "top5", "multilabel_top1", "main_top1"}
    assert not any(r["subgroup"] or re.fullmatch(r"draw\d+", r["split"]) for r in shown)
    assert {r["variant"] for r in shown} == {None, "worst"}
    assert len(shown) < len(every)


def test_results_rows_carry_family_variant_and_direction(v1_store: str):
    rows = {(r["model"], r["method"], r["metric"], r["split"]): r for r in api.results(v1_store, everything=True)}
    mc = ("gemma-3-270m", "multiple_choice_separate,1-shot")
    fields = {metric: tuple(rows[(*mc, metric, "")][f] for f in NEW_RESULT_FIELDS) for metric in (
        "accuracy", "accuracy@robustness", "accuracy@fairness:gender=female", "accuracy_gap@fairness:gender",
        "ece_10_bin", "selective_accuracy@0.5", "wall_s_per_request", "n_errors")}
    assert fields == {
        "accuracy": ("accuracy", None, True), "accuracy@robustness": ("robustness", "worst", True),
        "accuracy@fairness:gender=female": ("fairness", "gender=female", True),
        "accuracy_gap@fairness:gender": ("fairness", "gender", False), "ece_10_bin": ("calibration", None, False),
        "selective_accuracy@0.5": ("calibration", None, True), "wall_s_per_request": ("efficiency", None, False),
        "n_errors": ("accuracy", None, False)}
    icl = next(r for r in rows.values() if r["metric"] == "nse@3" and r["split"] == "")
    assert tuple(icl[f] for f in NEW_RESULT_FIELDS) == ("accuracy", None, False)
    images = next(r for r in rows.values() if r["metric"] == "images")
    assert tuple(images[f] for f in NEW_RESULT_FIELDS) == ("annotations", None, None)


def test_tony_run_prints_the_headline_rows_it_printed(v1_store: str):
    rows = api.results(v1_store, everything=True)
    assert sorted({r["metric"] for r in rows if not r["split"] and not r["subgroup"] and _is_headline(r)}) == (
        EXPECTED["headline"])


def test_compare_gives_the_numbers_it_gave(v1_store: str):
    for pair, expected in EXPECTED["compare"].items():
        run_a, run_b = (run_now(v1_store, v1_id) for v1_id in pair.split())
        compared = api.compare(run_a, run_b, v1_store)
        found = {part: [{k: v for k, v in asdict(c).items() if k != "higher_is_better"} for c in rows]
                 for part, rows in compared.items()}
        assert same(found, expected)


def test_the_leaderboard_gives_the_numbers_it_gave(v1_store: str):
    store = Store(v1_store, create=False)
    runs = store.runs(kind="lm")
    grid = collect(runs, store.stats([r["run_id"] for r in runs]))
    for family in FAMILIES:
        keys = family_keys(family, grid)
        if family not in EXPECTED["leaderboard"]:  # a family added since v1 (safety): no v1 stat is in it
            assert keys == [], family
            continue
        expected = EXPECTED["leaderboard"][family]
        assert [list(k) for k in keys] == expected["keys"], family
        assert same(win_rates(grid, keys), expected["win_rates"]), family
        cells = {model: [re.search(r'data-v="([^"]*)"', _cell(row.get(k))).group(1) for k in keys]
                 for model, row in sorted(grid.models.items())}
        assert cells == expected["cells"], family


def test_families_and_directions_are_those_v1_guessed_from_names(v1_store: str):
    for row in Store(v1_store, create=False).stats():
        guessed = EXPECTED["names"].get(row["name"])
        if guessed is None:  # not a language-model stat: nothing was guessed
            continue
        assert row["family"] == guessed["family"], row["name"]
        assert Direction.of_row(row).rank(0.3) == guessed["ranking_value_of_0.3"], row["name"]
        assert row["higher_is_better"] is not guessed["lower_is_better"], row["name"]


def test_a_step_appended_to_the_list_runs_once_on_each_older_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    ran: list[str] = []
    extra = Step("count the runs", lambda conn: ran.append(str(conn.execute(sa.text("select count(*) from runs"))
                                                             .scalar())))
    monkeypatch.setattr(store_migrate, "STEPS", [*store_migrate.STEPS, extra])
    monkeypatch.setattr(store_migrate, "LATEST_VERSION", LATEST_VERSION + 1)
    old = copy_v1(tmp_path / "v1")
    Store(old).close()
    Store(old).close()
    assert ran == ["7"] and schema_version(old) == LATEST_VERSION + 1
    migrated_before = copy_v1(tmp_path / "v2")
    monkeypatch.setattr(store_migrate, "STEPS", store_migrate.STEPS[:-1])
    monkeypatch.setattr(store_migrate, "LATEST_VERSION", LATEST_VERSION)
    Store(migrated_before).close()
    monkeypatch.setattr(store_migrate, "STEPS", [*store_migrate.STEPS, extra])
    monkeypatch.setattr(store_migrate, "LATEST_VERSION", LATEST_VERSION + 1)
    Store(migrated_before).close()  # at version 2: only the new step runs
    assert ran == ["7", "7"]
    Store(str(tmp_path / "new")).close()  # a new store starts at the latest version: nothing to run
    assert ran == ["7", "7"] and schema_version(str(tmp_path / "new")) == LATEST_VERSION + 1


def test_a_lost_version_on_a_migrated_store_reruns_the_steps_harmlessly(tmp_path: Path):
    folder = copy_v1(tmp_path / "v1")
    before = Store(folder).stats()
    with sqlite3.connect(Path(folder) / "tony.sqlite") as conn:
        conn.execute("delete from meta")
    assert same(Store(folder).stats(), before) and schema_version(folder) == LATEST_VERSION


def test_a_store_of_a_newer_tony_is_not_written(tmp_path: Path):
    folder = str(tmp_path / "store")
    Store(folder).close()
    with sqlite3.connect(Path(folder) / "tony.sqlite") as conn:
        conn.execute("update meta set value = ?", (str(LATEST_VERSION + 1),))
    with pytest.raises(StoreError, match=f"schema version {LATEST_VERSION + 1}, newer than this tony's"):
        Store(folder)


READ_RESULTS = """
import json, sys
from tony import api
print(json.dumps(api.results(sys.argv[1], everything=True)))
"""


@pytest.fixture
def shared_v1() -> Iterator[Path]:
    """A copy of the v1 store in a folder other users may enter (pytest's tmp_path is private to its user)."""
    folder = Path(tempfile.mkdtemp(prefix="tony-v1-"))
    folder.chmod(0o755)
    copy_v1(folder / "store")
    yield folder / "store"
    shutil.rmtree(folder)


def test_an_old_store_that_cannot_be_written_is_read_with_identities_from_names(shared_v1: Path):
    make_read_only(shared_v1)
    done = as_reader(sys.executable, "-c", READ_RESULTS, str(shared_v1))
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert same(as_v1_showed(rows), as_v1_showed(EXPECTED["results_all"]))
    assert {r["variant"] for r in rows if r["metric"].startswith("accuracy@robustness")} == {
        "worst", "lowercase", "unperturbed"}


@pytest.mark.postgres
def test_a_v1_postgresql_store_migrates_as_sqlite_does(postgres_cluster, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch):
    """The v1 store's tables and rows, as tony then created them, on a PostgreSQL server; opened for writing."""
    monkeypatch.chdir(tmp_path)
    database = postgres_cluster.create_database()
    url = postgres_cluster.url(database)
    try:
        sqlite_copy = copy_v1(tmp_path / "sqlite")
        copy_store_tables(Path(sqlite_copy) / "tony.sqlite", url)
        v1_rows = as_v1_showed(EXPECTED["results_all"])
        assert same(as_v1_showed(api.results(url, everything=True)), v1_rows)  # read as it is
        Store(url).close()
        with sa.create_engine(url).connect() as conn:
            version = conn.execute(sa.select(meta_table.c.value)).scalar_one()
        assert int(version) == LATEST_VERSION
        migrated = api.results(url, everything=True)
        assert same(as_v1_showed(migrated), v1_rows)
        Store(sqlite_copy).close()
        assert same(migrated, api.results(sqlite_copy, everything=True))  # run ids, identities, directions alike
    finally:
        postgres_cluster.drop_database(database)
