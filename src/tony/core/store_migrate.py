"""Upgrading a store in place: an ordered list of steps, each applied once per store, on SQLite and PostgreSQL.

A store keeps its schema version in the `meta` table: 1 for a store written before that table existed (tony up to
commit bdc4737), one more for each step it has had. Opening a store for writing (`Store(create=True)`) creates the
tables it lacks, then applies the steps it has not had, in order, in one transaction that holds the store's write
lock (SQLite's BEGIN IMMEDIATE, a PostgreSQL advisory lock), so two processes opening an old store at once migrate
it once. A new store starts at the latest version. Every step must also be right when it runs on a store that
already has what it adds (two processes creating a store at once may both see it as old).

To add a migration, append a `Step` to STEPS.

A store that is only read is not migrated: `Store.stats` reads an old one through `legacy_stat_fields`, the one
place that still reads a stat's structure from its name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tony.core.errors import StoreError
from tony.core.metric_info import MetricInfo
from tony.core.stat_id import WORST_CASE, StatId, registered_metrics, stored_fields
from tony.core.store_migrate_spec_keys import migrate_spec_keys
from tony.core.store_schema import STAT_ID_COLUMNS, create_tables, meta_table, runs_table, stats_table

VERSION_KEY = "schema_version"
FIRST_VERSION = 1
"""The version of a store without a recorded one: what tony wrote before stores were migrated."""
LEGACY_PERTURBATION_FAMILIES = ("robustness", "fairness")
"""In a version-1 name metric@family[:variant], the families that mean a perturbation (else @ marks a point)."""
ADDED_STAT_COLUMNS = (*STAT_ID_COLUMNS, "higher_is_better", "target")
"""The stats table's columns that version 2 added."""
_LOCK_ID = 0x746F6E79  # "tony": the PostgreSQL advisory lock that serializes migrations of one database


@dataclass(frozen=True)
class Step:
    """One migration of a store's schema or contents."""

    description: str
    """What it changes, in a few words."""
    apply: Callable[[sa.Connection], Any]
    """Applies it within the caller's transaction; what it returns is handed back by `upgrade`."""


def legacy_stat_fields(name: str, declared: Mapping[str, MetricInfo]) -> dict[str, Any]:
    """The identity and direction columns of a stat stored by name only (version 1): ``metric``,
    ``metric@robustness`` / ``metric@fairness`` (the worst case), ``metric@<family>:<variant>`` (one variant, the
    originals of the perturbed instances, a gap's perturbation), ``metric@<point>`` (a curve: nse@10)."""
    metric, at_sign, where = name.partition("@")
    if not at_sign:
        return stored_fields(StatId(name), declared)
    family, _, variant = where.partition(":")
    if family in LEGACY_PERTURBATION_FAMILIES:
        return stored_fields(StatId(metric, family, variant=variant or WORST_CASE), declared)
    return stored_fields(StatId(metric, at=where), declared)


def add_stat_identity(conn: sa.Connection) -> int:
    """Give the stats table its identity (metric, family, variant, at) and direction (higher_is_better, target)
    columns and fill them, from the stat names, on every row without a metric; returns how many rows it filled."""
    present = {column["name"] for column in sa.inspect(conn).get_columns(stats_table.name)}
    table = conn.dialect.identifier_preparer.format_table(stats_table)
    for name in ADDED_STAT_COLUMNS:
        if name not in present:
            column = sa.schema.CreateColumn(stats_table.c[name]).compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {column}"))
    keys = ("run_id", "name", "split", "subgroup")
    stats = sa.table(stats_table.name, *(sa.column(c) for c in (*keys, *ADDED_STAT_COLUMNS)))
    rows = conn.execute(sa.select(*(stats.c[k] for k in keys)).where(stats.c.metric == "")).all()
    if not rows:
        return 0
    declared = registered_metrics()
    # Bound as new_<column>: SQLAlchemy keeps a column's own name for the SET clause's parameter.
    update = stats.update().where(*(stats.c[k] == sa.bindparam(f"key_{k}") for k in keys))
    update = update.values({c: sa.bindparam(f"new_{c}") for c in ADDED_STAT_COLUMNS})
    conn.execute(update, [{**{f"key_{k}": v for k, v in zip(keys, row, strict=True)},
                           **{f"new_{c}": v for c, v in legacy_stat_fields(row.name, declared).items()}}
                          for row in rows])
    return len(rows)


STEPS: list[Step] = [
    Step("stats: identity and direction columns, filled from their names", add_stat_identity),
    Step("runs: ids from spec keys of the fields that differ from their defaults", migrate_spec_keys),
]
"""Every migration, in the order applied; a store at version v has had the first v - 1."""
LATEST_VERSION = FIRST_VERSION + len(STEPS)


def upgrade(writer: sa.Engine) -> list[Any]:
    """Create what the store lacks and apply the steps it has not had; returns what each step applied returned."""
    new = not sa.inspect(writer).has_table(runs_table.name)
    create_tables(writer)
    with writer.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        version = LATEST_VERSION if new else stored_version(conn)
        if version > LATEST_VERSION:
            raise StoreError(f"the store has schema version {version}, newer than this tony's {LATEST_VERSION}: "
                             "upgrade tony to write to it")
        applied = [step.apply(conn) for step in STEPS[version - FIRST_VERSION:]]
        if version != LATEST_VERSION or new:
            conn.execute(meta_table.delete().where(meta_table.c.key == VERSION_KEY))
            conn.execute(meta_table.insert().values(key=VERSION_KEY, value=str(LATEST_VERSION)))
    return applied


def stored_version(conn: sa.Connection) -> int:
    """The store's recorded schema version (FIRST_VERSION where it records none)."""
    if not sa.inspect(conn).has_table(meta_table.name):
        return FIRST_VERSION
    found = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == VERSION_KEY)).scalar()
    return FIRST_VERSION if found is None else int(found)
