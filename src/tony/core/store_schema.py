"""Where a store lives and what its tables are: the URL, the engines, the schema.

`tony.core.store.Store` does the reading and writing; this module only opens the database
(SQLite in WAL mode with an immediate-locking writer, or PostgreSQL with a connect timeout)
and creates the tables, so the schema can be read in one place.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

DEFAULT_STORE_DIR = "tony-results"

metadata = sa.MetaData()

STAT_ID_COLUMNS = ("metric", "family", "variant", "at")
"""The stats table's text columns of a stat's identity beyond its name, split and subgroup."""

runs_table = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("labels", sa.Text, nullable=False, default="{}"),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.Column("wall_s", sa.Float),
)

records_table = sa.Table(
    "records",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("item_id", sa.String(256), primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Index("records_by_run_seq", "run_id", "seq"),  # records() pages through a run in seq order
)

stats_table = sa.Table(
    "stats",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("split", sa.String(64), primary_key=True),
    sa.Column("subgroup", sa.String(128), primary_key=True),
    sa.Column("value", sa.Float),
    sa.Column("ci_low", sa.Float),
    sa.Column("ci_high", sa.Float),
    sa.Column("n", sa.Integer, nullable=False),
    *(sa.Column(name, sa.String(128), nullable=False, server_default="") for name in STAT_ID_COLUMNS),
    sa.Column("higher_is_better", sa.Boolean),
    sa.Column("target", sa.Float),
)
"""One row per stat: `name` is its display name, the key with split and subgroup; metric, family, variant and at
its structured identity (tony.core.stat_id.StatId), higher_is_better and target its metric's declared direction."""

meta_table = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
"""Facts about the store itself: its schema version (tony.core.store_migrate)."""

artifacts_table = sa.Table(
    "artifacts",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

leases_table = sa.Table(
    "leases",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("item_id", sa.String(256), primary_key=True),
    sa.Column("owner", sa.String(160), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)
"""Items a process is computing right now (tony.core.store_leases): transient, deleted once stored."""

cache_table = sa.Table(
    "request_cache",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("model", sa.String(256), nullable=False),
    sa.Column("response", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)


def resolve_url(store: str | None) -> str:
    """A SQLAlchemy URL from a --store value: a URL, a directory, or None for ./tony-results.

    A plain postgresql:// (or postgres://) URL uses psycopg 3, the driver that tony[pg] installs.
    """
    if store and "://" in store:
        scheme, rest = store.split("://", 1)
        if scheme in ("postgresql", "postgres"):
            return f"postgresql+psycopg://{rest}"
        return store
    directory = Path(store or DEFAULT_STORE_DIR)
    return f"sqlite:///{directory / 'tony.sqlite'}"


def open_engines(url: str, *, read_only: bool = False) -> tuple[sa.Engine, sa.Engine, Path]:
    """(reader engine, writer engine, artifact directory) for a resolved URL; nothing is connected yet.

    `read_only` (SQLite) opens a database this process cannot write: see `sqlite_read_only`."""
    if not url.startswith("sqlite"):
        engine = sa.create_engine(url, pool_pre_ping=True, connect_args=_connect_timeout(url))
        return engine, engine, Path(DEFAULT_STORE_DIR) / "artifacts"
    path = Path(sa.engine.make_url(url).database or "")
    if read_only:
        engine = sa.create_engine(sqlite_read_only(path), connect_args={"timeout": 60})
        return engine, engine, path.parent / "artifacts"
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 60})
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    # Writers take SQLite's write lock when their transaction begins, so two
    # processes never deadlock upgrading a read lock; they queue instead.
    writer = sa.create_engine(url, connect_args={"timeout": 60, "isolation_level": None})
    sa.event.listen(writer, "connect", _sqlite_pragmas)
    sa.event.listen(writer, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine, writer, path.parent / "artifacts"


def sqlite_read_only(path: Path) -> str:
    """The URL that opens a SQLite database read-only. While a writer has it open (its WAL index, the -shm file,
    exists) the reader goes through that index; otherwise the file is opened as immutable, read as it is without
    locks, so that reading leaves no journal files behind owned by this user (which would stop the owner's
    next write)."""
    immutable = "" if path.with_name(path.name + "-shm").exists() else "&immutable=1"
    return f"sqlite:///file:{path.absolute()}?mode=ro{immutable}&uri=true"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()


def _connect_timeout(url: str) -> dict[str, Any]:
    """Give up on a PostgreSQL server that does not answer within 10 s (unless the URL says otherwise)."""
    if url.startswith("postgresql") and "connect_timeout" not in url:
        return {"connect_timeout": 10}
    return {}


def create_tables(engine: sa.Engine) -> None:
    # Two processes opening a new PostgreSQL store at once may race on CREATE TABLE (the loser sees a
    # duplicate type or table); it retries and then finds the tables there. SQLite creates them under
    # BEGIN IMMEDIATE, so it never races.
    for attempt in range(5):
        try:
            metadata.create_all(engine)
            for index in records_table.indexes:  # stores made before the index existed get it too
                index.create(engine, checkfirst=True)
            return
        except (OperationalError, sa.exc.IntegrityError, sa.exc.ProgrammingError):
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


def insert_ignore(engine: sa.Engine, table: sa.Table) -> sa.Insert:
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table).on_conflict_do_nothing()
