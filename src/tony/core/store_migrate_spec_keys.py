"""Store migration: from v1 spec keys, which hash every field, to keys of the fields that differ from their defaults.

A v1 key (tony up to commit bdc4737) is the SHA-256 of the canonical JSON of {"kind": the spec's class name,
"spec": its whole `model_dump(mode="json")`}; `Spec.key()` now hashes only `Spec.key_fields()`. A run's id is its
spec's key, so `migrate_spec_keys` moves every stored run to its key now, in the caller's transaction: it rebuilds
the spec from the run's stored JSON (its class is the "study" registered under the run's kind), checks that the run
is stored under the v1 key of that JSON, inserts the run's row under the new id, moves every row of the other
tables that names the run (records, stats, artifacts, ...), then deletes the old row, so foreign keys hold at
every step on PostgreSQL as on SQLite. A run's labels that show the v1 key of its spec or of a spec nested in it
(an ICL evaluation's training spec) show the new one. A run whose kind is gone, whose spec no longer parses, or
that is stored under neither key is left as it is, and the returned `SpecKeyMigration` says why.

Checkpoints are artifacts named ``checkpoint/<training spec key>``, and the store does not keep every training
spec (`tony icl train` stores no run; a BREEDS study derives its trainings from its data), so they move one by one
when first loaded: `tony.core.checkpoints` calls `adopt_v1_checkpoint`, which rewrites a checkpoint found under
the v1 name with the key now inside, under the name now. So a checkpoint must be loaded once before a field is
added to its training spec's class: after that, the v1 name computed from the class counts the new field in.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tony.core.spec import Spec, content_key

if TYPE_CHECKING:
    from tony.core.store import Store

SHOWN_KEY_CHARS = 12
"""How much of a key tables and labels show (an ICL run's "train" label)."""


@dataclass
class SpecKeyMigration:
    """What `migrate_spec_keys` did."""

    moved: dict[str, str] = field(default_factory=dict)
    """Old run id -> new run id, for every run moved."""
    current: int = 0
    """Runs already stored under their key now (every field set, or stored since)."""
    left: dict[str, str] = field(default_factory=dict)
    """Run id -> why the run was left under its id."""

    def lines(self) -> list[str]:
        """A summary line, then one line per run left as it was."""
        summary = f"spec keys: {len(self.moved)} runs moved to their new ids, {self.current} already current"
        return [summary + (f", {len(self.left)} left as they were:" if self.left else "")] + [
            f"  run {run_id[:SHOWN_KEY_CHARS]}: {why}" for run_id, why in self.left.items()]


def migrate_spec_keys(conn: sa.Connection) -> SpecKeyMigration:
    """Move every run stored under its v1 key to its key now, within `conn`'s transaction."""
    tables = sa.MetaData()
    tables.reflect(bind=conn)  # as the database has them, whichever migrations ran before this one
    runs = tables.tables["runs"]
    naming_runs = [t for t in tables.tables.values() if t is not runs and "run_id" in t.c]
    done = SpecKeyMigration()
    stored_runs: sa.Select[str, str, str] = sa.select(runs.c.run_id, runs.c.kind, runs.c.spec)
    for run_id, kind, stored in conn.execute(stored_runs).all():
        data = json.loads(stored)
        try:
            spec = _spec_class(kind).parse(data)
        except Exception as err:  # noqa: BLE001 - any failure leaves this run as it is, and says why
            done.left[run_id] = f"its {kind} spec no longer parses ({type(err).__name__}: {err})"
            continue
        new_id = spec.key()
        if new_id == run_id:
            done.current += 1
        elif _v1_key(type(spec), data) != run_id:
            done.left[run_id] = f"its id is neither its spec's v1 key nor its key now ({new_id[:SHOWN_KEY_CHARS]})"
        elif conn.execute(sa.select(runs.c.run_id).where(runs.c.run_id == new_id)).first() is not None:
            done.left[run_id] = f"a run is already stored under its new id {new_id[:SHOWN_KEY_CHARS]}"
        else:
            _move_run(conn, runs, naming_runs, run_id, new_id, _key_renames(spec))
            done.moved[run_id] = new_id
    return done


def v1_checkpoint_name(spec: Spec) -> str:
    """The artifact name of `spec`'s checkpoints in a store written with v1 keys."""
    return f"checkpoint/{_v1_key(type(spec), spec.model_dump(mode='json'))}"


def adopt_v1_checkpoint(store: Store, spec: Spec) -> bool:
    """Move `spec`'s newest checkpoint stored under its v1 name to its name now, unless one is there already;
    True when one was moved. Its file is rewritten with the key now inside (the checkpoint's own check), the
    v1 rows and files are removed; one whose file is gone is dropped, one that cannot be read is a DataError."""
    from tony.core.checkpoints import checkpoint_name, save_checkpoint

    old_name = v1_checkpoint_name(spec)
    found = store.artifacts(old_name) if old_name != checkpoint_name(spec) else []
    if not found or store.latest_artifact(checkpoint_name(spec)) is not None:
        return False
    newest = next((a for a in found if a.path.is_file()), None)
    if newest is not None:
        save_checkpoint(store, spec, _read_v1(newest.path, old_name.removeprefix("checkpoint/")))
    store.drop_artifacts(old_name)
    return newest is not None


def _v1_key(cls: type[Spec], data: dict[str, Any]) -> str:
    """The key a spec of class `cls` whose JSON is `data` had in v1: every field hashed."""
    return content_key({"kind": cls.__name__, "spec": data})


def _spec_class(kind: str) -> type[Spec]:
    from tony.core.registry import registry

    return registry.get("study", kind)


def _move_run(conn: sa.Connection, runs: sa.Table, naming_runs: list[sa.Table], old: str, new: str,
              renames: dict[str, str]) -> None:
    """The run's row under `new` (labels showing the keys of `renames` renamed), its other rows moved, its old
    row deleted: in this order, so every foreign key holds at every step."""
    row = dict(conn.execute(sa.select(runs).where(runs.c.run_id == old)).mappings().one())
    labels = {name: _renamed(value, renames) for name, value in json.loads(row["labels"]).items()}
    conn.execute(runs.insert().values({**row, "run_id": new, "labels": json.dumps(labels, sort_keys=True)}))
    for table in naming_runs:
        conn.execute(table.update().where(table.c.run_id == old).values(run_id=new))
    conn.execute(runs.delete().where(runs.c.run_id == old))


def _key_renames(spec: Spec) -> dict[str, str]:
    """v1 key -> key now, of `spec` and of every spec nested in it, each also by its shown prefix."""
    renames = {}
    for each in _specs_in(spec):
        old, new = _v1_key(type(each), each.model_dump(mode="json")), each.key()
        renames[old], renames[old[:SHOWN_KEY_CHARS]] = new, new[:SHOWN_KEY_CHARS]
    return renames


def _specs_in(value: Any) -> Iterator[Spec]:
    """`value` if it is a spec, and every spec in its fields, tuples, lists and dicts, depth first."""
    if isinstance(value, Spec):
        yield value
        value = [item for _, item in value]
    if isinstance(value, tuple | list | dict):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _specs_in(item)


def _renamed(value: Any, renames: dict[str, str]) -> Any:
    return renames.get(value, value) if isinstance(value, str) else value


def _read_v1(path: Path, v1_key: str) -> dict[str, Any]:
    """The state saved in a v1 checkpoint file of the spec whose v1 key is `v1_key`, without its format and key."""
    from tony.core.checkpoints import read_checkpoint_file

    state = read_checkpoint_file(path, v1_key)
    return {name: value for name, value in state.items() if name not in ("format", "spec_key")}
