"""Spec keys hash only the fields that differ from their defaults; stores written with v1 keys are migrated.

The store under tests/data/stores/spec-keys-v1/ was written by tony at commit bdc4737 (v1 keys: every field
hashed), by its make_store.py.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import Field
from store_copy import copy_store_tables

from tony.core.errors import DataError
from tony.core.spec import Spec
from tony.core.store_migrate_spec_keys import SpecKeyMigration, migrate_spec_keys, v1_checkpoint_name
from tony.lm.adapters.base import AdapterSpec
from tony.lm.run import LMRunSpec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from cli_helpers import tony  # noqa: E402 (runs the real command)

V1_STORE = Path(__file__).resolve().parents[1] / "data" / "stores" / "spec-keys-v1"
LM_RUN, LM_TOKENS_RUN, ICL_RUN = ("d76c08c1fad8a759124a43bbad8e1d5645ac74e1b98484730845a4e62dc802ba",
                                  "d670f5e8b447d52a710f91cf081cde5b8ff6d376661eb4ae0b7c5701e1d74d4f",
                                  "f7159a4c4c74fd0e801b4411672ae8b4ebaba2d38525263a9fe2f455eac88e10")
"""The fixture's runs, each under the v1 key of its spec: its two `tony run` entries and the ICL evaluation."""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fixture_module():
    """tests/data/stores/spec-keys-v1/make_store.py, for the specs it stored."""
    found = importlib.util.spec_from_file_location("make_spec_keys_v1", V1_STORE / "make_store.py")
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module


# keys ------------------------------------------------------------------------------------------------------


def test_key_is_the_hash_of_the_class_name_and_the_fields_set():
    class Probe(Spec):
        a: int
        b: str = "x"

    assert Probe(a=1).key() == sha256('{"kind":"Probe","spec":{"a":1}}')
    assert Probe(a=1, b="y").key() == sha256('{"kind":"Probe","spec":{"a":1,"b":"y"}}')
    spec = LMRunSpec(scenario="synthetic_induction", max_instances=4, adapter=AdapterSpec(method="generation"))
    assert spec.key() == sha256('{"kind":"LMRunSpec","spec":{"adapter":{"method":"generation"},"max_instances":4,'
                                '"scenario":"synthetic_induction"}}')


def test_adding_a_defaulted_field_keeps_the_keys_of_specs_that_leave_it_out():
    def version(new_field: bool) -> type[Spec]:
        class Inner(Spec):
            x: int = 1
            if new_field:
                w: float = 0.5

        class Probe(Spec):
            a: int
            inner: Inner = Inner()
            items: tuple[Inner, ...] = ()
            maybe: Inner | None = None
            if new_field:
                c: tuple[str, ...] = ("p",)

        return Probe

    before, after = version(False), version(True)
    fields = {"a": 1, "inner": {"x": 2}, "items": [{"x": 3}, {}], "maybe": {"x": 4}}
    assert after.parse(fields).key() == before.parse(fields).key()
    assert after(a=1).key() == before(a=1).key() == sha256('{"kind":"Probe","spec":{"a":1}}')
    assert after.parse(fields).key_fields() == {"a": 1, "inner": {"x": 2}, "items": [{"x": 3}, {}], "maybe": {"x": 4}}
    # Setting the new field, at the top or nested, changes the key; setting it to its default does not.
    assert after(a=1, c=("q",)).key() != after(a=1).key()
    assert after.parse({"a": 1, "inner": {"w": 0.25}}).key_fields() == {"a": 1, "inner": {"w": 0.25}}
    assert after.parse({"a": 1, "inner": {"w": 0.5}, "c": ["p"]}).key() == after(a=1).key()


def test_specs_equal_as_data_have_equal_keys():
    plain = LMRunSpec(scenario="s")
    assert LMRunSpec.parse({"scenario": "s", "adapter": {"method": "multiple_choice_separate", "stop": ["\n"]},
                            "model_args": {}, "perturbations": []}).key() == plain.key()
    assert plain.model_copy(update={"seed": 0}).key() == plain.key()
    assert LMRunSpec(scenario="s", seed=1).key() != plain.key()
    assert LMRunSpec(scenario="s", adapter=AdapterSpec(num_train=1)).key() != plain.key()


def test_defaults_are_compared_as_json_text():
    class Values(Spec):
        ratio: float = 1.0
        names: tuple[str, ...] = ()
        counts: dict[str, int] = Field(default_factory=dict)
        limit: int | None = None
        flag: int | bool = 0

    assert Values(ratio=1, names=[], counts={}, limit=None, flag=0).key_fields() == {}
    # Python has 0 == False and 0 == 0.0, and pydantic's exclude_defaults with it; the key keeps them apart.
    assert Values(flag=False).key_fields() == {"flag": False}
    assert Values(limit=0).key_fields() == {"limit": 0}
    assert Values(counts={"a": 1}).key_fields() == {"counts": {"a": 1}}


def test_defaults_are_those_of_the_concrete_class():
    class Base(Spec):
        width: int = 8

    class Wider(Base):
        width: int = 16

    assert Wider(width=16).key_fields() == {} and Wider(width=8).key_fields() == {"width": 8}
    assert Base(width=8).key_fields() == {}
    assert Wider().key() != Base().key()  # the class name is in the key


# migrating runs --------------------------------------------------------------------------------------------


def fixture_rows(url: str) -> dict[str, list[tuple]]:
    """Every table's rows, run ids and all, sorted."""
    engine = sa.create_engine(url)
    tables = sa.MetaData()
    tables.reflect(bind=engine)
    with engine.connect() as conn:
        rows = {name: sorted(map(tuple, conn.execute(sa.select(t)).all()), key=repr)
                for name, t in tables.tables.items()}
    engine.dispose()
    return rows


def copy_v1_store(url: str) -> None:
    """The fixture's tables and rows in the empty database `url`, as tony at bdc4737 made them."""
    copy_store_tables(V1_STORE / "tony.sqlite", url)


def migrate(url: str) -> SpecKeyMigration:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        done = migrate_spec_keys(conn)
    engine.dispose()
    return done


def test_migration_moves_every_run_and_its_rows_to_its_new_id(store_url):
    from tony.icl.study import ICLEvalSpec

    copy_v1_store(store_url)
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:  # a run of a kind tony no longer has, with a record
        conn.exec_driver_sql("INSERT INTO runs (run_id, kind, spec, labels, status, created_at) "
                             "VALUES ('gone', 'retired-kind', '{}', '{}', 'complete', 0)")
        conn.exec_driver_sql("INSERT INTO records (run_id, item_id, seq, payload) VALUES ('gone', 'i', 0, '{}')")
    engine.dispose()
    before = fixture_rows(store_url)
    done = migrate(store_url)

    icl = ICLEvalSpec.parse(fixture_module().ICL_EVAL)
    lm_key = '{"kind":"LMRunSpec","spec":{"adapter":{%s},"max_instances":4,"scenario":"synthetic_induction"}}'
    expected = {LM_RUN: sha256(lm_key % '"method":"generation"'),
                LM_TOKENS_RUN: sha256(lm_key % '"max_tokens":8,"method":"generation"'), ICL_RUN: icl.key()}
    assert done.moved == expected and done.current == 0
    assert list(done.left) == ["gone"] and "retired-kind" in done.left["gone"]
    after = fixture_rows(store_url)
    # Every row as it was, but for the run ids (and the ICL run's label naming its training spec's key).
    renamed = {**expected, "gone": "gone"}
    for table in ("records", "stats"):
        assert after[table] == sorted(((renamed[r[0]], *r[1:]) for r in before[table]), key=repr)
    assert after["artifacts"] == before["artifacts"]  # a checkpoint moves when it is loaded
    runs_before, runs_after = {r[0]: r for r in before["runs"]}, {r[0]: r for r in after["runs"]}
    assert set(runs_after) == set(renamed.values())
    for old, new in renamed.items():
        labels_before, labels_after = json.loads(runs_before[old][3]), json.loads(runs_after[new][3])
        if old == ICL_RUN:
            assert labels_before["train"] == "1d19292df744"  # the v1 key of the training spec
            assert labels_after == {**labels_before, "train": icl.train.key()[:12]}
        else:
            assert labels_after == labels_before
        assert runs_after[new][:3] + runs_after[new][4:] == (new, *runs_before[old][1:3], *runs_before[old][4:])
    # Migrating again changes nothing.
    again = migrate(store_url)
    assert again.moved == {} and again.current == 3 and list(again.left) == ["gone"]
    assert fixture_rows(store_url) == after


def test_a_run_stored_under_neither_key_is_left_and_reported(tmp_path):
    url = f"sqlite:///{tmp_path / 'tony.sqlite'}"
    copy_v1_store(url)
    with sqlite3.connect(tmp_path / "tony.sqlite") as conn:
        conn.execute("UPDATE stats SET run_id = 'renamed' WHERE run_id LIKE 'd76c%'")
        conn.execute("UPDATE records SET run_id = 'renamed' WHERE run_id LIKE 'd76c%'")
        conn.execute("UPDATE runs SET run_id = 'renamed' WHERE run_id LIKE 'd76c%'")
    done = migrate(url)
    assert len(done.moved) == 2 and list(done.left) == ["renamed"]
    assert "neither its spec's v1 key nor its key now" in done.left["renamed"]
    assert done.lines()[0] == "spec keys: 2 runs moved to their new ids, 0 already current, 1 left as they were:"


@pytest.mark.slow
def test_an_old_store_is_migrated_when_opened_and_answers_the_same_run(tmp_path):
    store = tmp_path / "store"
    shutil.copytree(V1_STORE, store, ignore=shutil.ignore_patterns("*.py"))
    query = ("SELECT r.spec, s.name, s.split, s.subgroup, s.value, s.ci_low, s.ci_high, s.n "
             "FROM stats s JOIN runs r ON r.run_id = s.run_id")
    with sqlite3.connect(store / "tony.sqlite") as conn:
        before = conn.execute(query).fetchall()
    again = tony("run", "synthetic_induction:max_instances=4", "--store", str(store), check=True)
    assert "already stored" in again.stderr
    with sqlite3.connect(store / "tony.sqlite") as conn:
        assert conn.execute(query).fetchall() == before  # the same stats of the same specs
        ids = dict(conn.execute("SELECT spec, run_id FROM runs").fetchall())
    assert set(ids.values()).isdisjoint({LM_RUN, LM_TOKENS_RUN, ICL_RUN}) and len(ids) == 3
    results = json.loads(tony("results", "--store", str(store), "--format", "json", "--all", check=True).stdout)
    shown = {(r["run"], r["metric"], r["split"], r["subgroup"]): (r["value"], r["ci_low"], r["ci_high"], r["n"])
             for r in results}
    assert shown == {(ids[spec][:12], name, split, subgroup): (value, low, high, n)
                     for spec, name, split, subgroup, value, low, high, n in before}


# checkpoints -----------------------------------------------------------------------------------------------


@pytest.fixture
def v1_store(tmp_path):
    """An open copy of the fixture store, with its v1 checkpoint of the vision training spec."""
    from tony.core.store import Store

    shutil.copytree(V1_STORE, tmp_path / "store", ignore=shutil.ignore_patterns("*.py"))
    opened = Store(str(tmp_path / "store"))
    yield opened
    opened.close()


def vision_spec():
    from tony.vision.train import VisionTrainSpec

    return VisionTrainSpec.parse(fixture_module().VISION_TRAIN)


def test_a_v1_checkpoint_moves_to_its_new_name_when_loaded(v1_store):
    import torch

    from tony.core.checkpoints import checkpoint_name, load_checkpoint
    from tony.vision.train import train

    spec = vision_spec()
    [old] = v1_store.artifacts(v1_checkpoint_name(spec))
    assert old.name == "checkpoint/b7d017edfc6a407c16c44dbc324098ea1d801f9c52bd191da390cef01218dc58"
    assert v1_store.artifacts(checkpoint_name(spec)) == []
    state = load_checkpoint(v1_store, spec)
    assert state["step"] == 2 and state["spec_key"] == spec.key()
    [new] = v1_store.artifacts(checkpoint_name(spec))
    assert v1_store.artifacts(old.name) == [] and not old.path.exists()
    assert torch.load(new.path, weights_only=True)["spec_key"] == spec.key()
    # Trained already: training loads it and writes no checkpoint.
    assert train(spec, *fixture_module().vision_images(), v1_store).step == 2
    assert v1_store.artifacts(checkpoint_name(spec)) == [new]


def test_discarding_checkpoints_removes_the_v1_ones(v1_store):
    from tony.core.checkpoints import discard_checkpoints, load_checkpoint

    spec = vision_spec()
    assert discard_checkpoints(v1_store, spec) == 1
    assert load_checkpoint(v1_store, spec) is None


def test_an_unreadable_v1_checkpoint_is_a_data_error(v1_store):
    from tony.core.checkpoints import load_checkpoint

    spec = vision_spec()
    [old] = v1_store.artifacts(v1_checkpoint_name(spec))
    old.path.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="corrupted or truncated"):
        load_checkpoint(v1_store, spec)
    assert v1_store.artifacts(old.name) == [old]  # nothing is removed
