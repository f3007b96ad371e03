"""The results database: runs, records, stats, artifacts (tony.core.store_artifacts) and the request cache.

SQLAlchemy Core over SQLite (WAL mode, the embedded default under
./tony-results/) or PostgreSQL by URL. Records are keyed by (run, item), so
a resumed or concurrent writer can never store one twice.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from tony.core.errors import StoreError
from tony.core.stat_id import registered_metrics, stored_fields
from tony.core.stats import Stat
from tony.core.store_artifacts import ArtifactsMixin
from tony.core.store_leases import LeasesMixin
from tony.core.store_migrate import ADDED_STAT_COLUMNS, legacy_stat_fields, upgrade
from tony.core.store_schema import (
    cache_table,
    insert_ignore,
    open_engines,
    records_table,
    resolve_url,
    runs_table,
    stats_table,
)


class StoredRecord(NamedTuple):
    """One stored record, as `Store.iter_records` yields it."""

    run_id: str
    """The run it belongs to."""
    item_id: str
    """The item within the run."""
    payload: dict[str, Any]
    """The record as its domain wrote it."""


class Store(ArtifactsMixin, LeasesMixin):
    """The results database. Open with a URL, a directory or None (./tony-results).

    With ``create=False`` (for commands that only read) a store that does not exist yet is a
    StoreError instead of a new, empty database: nothing is created and no table is added.
    """

    def __init__(self, store: str | None = None, *, create: bool = True) -> None:
        self.url = resolve_url(store)
        self.is_sqlite = self.url.startswith("sqlite")
        if not create and self.is_sqlite:
            database = Path(sa.engine.make_url(self.url).database or "")
            if not database.is_file():
                raise StoreError(f"no results store in {database.parent}: `tony run ...` creates one, "
                                 "or give the directory (or database URL) of an existing one with --store")
            if database.stat().st_size == 0:  # opening it would turn the empty file into a database
                raise StoreError(f"{database} is an empty file, not a tony store: check --store")
        # A store only read (a copy on read-only media, another user's results) is opened read-only.
        self.read_only = (not create and self.is_sqlite
                          and not _writable(Path(sa.engine.make_url(self.url).database or "")))
        try:
            self.engine, self.writer, self.artifact_dir = open_engines(self.url, read_only=self.read_only)
            self._connect_first(create)
            if not create and not sa.inspect(self.engine).has_table(records_table.name):
                raise StoreError(f"{self.describe()} holds no tony results (it has no records table): "
                                 "check --store, or `tony run ...` to store some")
        except ImportError as err:
            raise StoreError(
                f"cannot open store {self.describe()}: database driver missing ({err}); "
                "for PostgreSQL install tony[pg] (psycopg)"
            ) from None
        except (SQLAlchemyError, OSError) as err:
            raise StoreError(f"cannot open store {self.describe()}: {_first_line(err)}; {self._open_hint()}") from None

    def _connect_first(self, create: bool) -> None:
        """Connect once (so an unreachable server or unwritable file fails at once) and create the tables.

        Processes opening one new SQLite file together can see "database is locked" at once, without SQLite's
        busy timeout applying (while one of them switches the file to WAL): that is retried for a few seconds."""
        for attempt in range(8):
            try:
                with self.writer.connect():
                    pass
                if create:
                    for applied in upgrade(self.writer):  # creates the tables, or migrates an older store's
                        for line in applied.lines() if hasattr(applied, "lines") else ():
                            print(f"tony: {self.describe()}: {line}", file=sys.stderr)  # runs it moved or left
                return
            except sa.exc.OperationalError as err:
                if not self.is_sqlite or "locked" not in str(err) or attempt == 7:
                    raise
                time.sleep(0.05 * 2**attempt)

    def close(self) -> None:
        """Close every pooled connection; the store can still be used, reconnecting on demand."""
        self.engine.dispose()
        self.writer.dispose()

    def _open_hint(self) -> str:
        if self.is_sqlite:
            directory = Path(sa.engine.make_url(self.url).database or ".").parent
            return f"check that the directory {directory} can be created and written, or choose another with --store"
        return "check that the PostgreSQL server is running and the URL (host, port, user, database) is right"

    def describe(self) -> str:
        """The store's location, without any password."""
        try:
            return sa.engine.make_url(self.url).render_as_string(hide_password=True)
        except SQLAlchemyError:
            return repr(self.url)

    # runs --------------------------------------------------------------
    def begin_run(self, run_id: str, kind: str, spec: dict[str, Any], labels: dict[str, Any]) -> None:
        """Create the run, or mark an existing one running again (records are kept)."""
        row = {"status": "running", "error": None, "finished_at": None}
        with self._write() as conn:
            found = conn.execute(sa.select(runs_table.c.run_id).where(runs_table.c.run_id == run_id)).first()
            if found:
                conn.execute(runs_table.update().where(runs_table.c.run_id == run_id).values(**row))
            else:
                conn.execute(
                    insert_ignore(self.engine, runs_table).values(
                        run_id=run_id,
                        kind=kind,
                        spec=json.dumps(spec, sort_keys=True),
                        labels=json.dumps(labels, sort_keys=True),
                        created_at=time.time(),
                        **row,
                    )
                )

    def finish_run(self, run_id: str, stats: Iterable[Stat], wall_s: float) -> None:
        """Replace the run's stats and mark it complete, in one transaction."""
        declared = registered_metrics()
        rows = [dict(asdict(s), run_id=run_id, **stored_fields(s.id, declared)) for s in stats]
        with self._write() as conn:
            conn.execute(stats_table.delete().where(stats_table.c.run_id == run_id))
            if rows:
                conn.execute(stats_table.insert(), rows)
            conn.execute(
                runs_table.update()
                .where(runs_table.c.run_id == run_id)
                .values(status="complete", finished_at=time.time(), wall_s=wall_s, error=None)
            )

    def fail_run(self, run_id: str, error: str) -> None:
        with self._write() as conn:
            conn.execute(
                runs_table.update()
                .where(runs_table.c.run_id == run_id)
                .values(status="failed", error=error, finished_at=time.time())
            )

    def runs(self, status: str | None = None, *, kind: str | None = None) -> list[dict[str, Any]]:
        """Stored runs, oldest first: all of them, or those with this status and/or of this kind (domain)."""
        query = sa.select(runs_table).order_by(runs_table.c.created_at)
        if status:
            query = query.where(runs_table.c.status == status)
        if kind:
            query = query.where(runs_table.c.kind == kind)
        with self._read() as conn:
            return [_run_row(r) for r in conn.execute(query).mappings()]

    def run(self, run_id: str) -> dict[str, Any] | None:
        """The run with exactly this id, or None when there is none (`find_run` takes a prefix)."""
        with self._read() as conn:
            found = conn.execute(sa.select(runs_table).where(runs_table.c.run_id == run_id)).mappings().first()
        return None if found is None else _run_row(found)

    def find_run(self, prefix: str) -> dict[str, Any]:
        """The run whose id starts with `prefix` (at least 6 characters, unique)."""
        from tony.core.errors import SpecError

        if len(prefix) < 6:
            raise SpecError(f"run id '{prefix}' is too short: give at least 6 characters (see `tony results`)")
        with self._read() as conn:
            query = sa.select(runs_table).where(runs_table.c.run_id.startswith(prefix, autoescape=True))
            rows = list(conn.execute(query).mappings())
        if len(rows) != 1:
            what = "no run" if not rows else f"{len(rows)} runs"
            raise SpecError(f"{what} in {self.describe()} with id starting '{prefix}': see `tony results`")
        return _run_row(rows[0])

    # records -----------------------------------------------------------
    def done_items(self, run_id: str) -> set[str]:
        with self._read() as conn:
            query = sa.select(records_table.c.item_id).where(records_table.c.run_id == run_id)
            return set(conn.execute(query).scalars())

    def add_records(self, run_id: str, records: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Commit a batch of (item_id, payload) records; an item already stored is kept as it was.

        Records get sequence numbers after the run's last one, so `records()` returns them in the
        order they were first stored, even when batches repeat items or several processes write.
        """
        rows: list[dict[str, Any]] = [{"run_id": run_id, "item_id": item, "payload": json_text(payload)}
                                      for item, payload in records]
        if not rows:
            return
        with self._write() as conn:
            # Writers of one run queue on its row (PostgreSQL; SQLite's BEGIN IMMEDIATE already
            # serializes writers), so no two batches read the same last sequence number.
            conn.execute(sa.select(runs_table.c.run_id).where(runs_table.c.run_id == run_id).with_for_update())
            last: int | None = conn.execute(
                sa.select(sa.func.max(records_table.c.seq)).where(records_table.c.run_id == run_id)
            ).scalar_one()
            start = 0 if last is None else last + 1
            for i, row in enumerate(rows):
                row["seq"] = start + i
            conn.execute(insert_ignore(self.engine, records_table), rows)

    def records(self, run_id: str, *, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """The run's records in the order they were stored, each payload with its item_id."""
        query: sa.Select[str, str] = (
            sa.select(records_table.c.item_id, records_table.c.payload)
            .where(records_table.c.run_id == run_id)
            .order_by(records_table.c.seq, records_table.c.item_id)
            .offset(offset)
            .limit(limit)
        )
        with self._read() as conn:
            return [dict(json.loads(p), item_id=i) for i, p in conn.execute(query)]

    def iter_records(self, run_ids: Iterable[str] | None = None, *, batch: int = 500) -> Iterator[StoredRecord]:
        """Every record of the runs (all runs, oldest first, when None), each run's in the order stored.

        Pages through the records table by key, `batch` rows at a time, each page in its own short read:
        memory stays that of one page however many records there are, and no read transaction stays
        open while the caller works on a page (so a SQLite writer can checkpoint meanwhile).
        """
        if batch < 1:
            raise ValueError(f"batch must be at least 1, not {batch}")
        if run_ids is None:
            with self._read() as conn:
                ids = list(conn.execute(sa.select(runs_table.c.run_id).order_by(runs_table.c.created_at)).scalars())
        else:
            ids = list(dict.fromkeys(run_ids))
        seq, item = records_table.c.seq, records_table.c.item_id
        for run_id in ids:
            after: tuple[int, str] | None = None
            while True:
                query: sa.Select[int, str, str] = (
                    sa.select(seq, item, records_table.c.payload)
                    .where(records_table.c.run_id == run_id)
                    .order_by(seq, item)
                    .limit(batch)
                )
                if after is not None:
                    # Keyset paging on (seq, item_id), seq alone unique per run today and item_id breaking any tie;
                    # the plain `seq >=` lets both databases range-scan the (run_id, seq) index.
                    query = query.where(seq >= after[0], sa.or_(seq > after[0], item > after[1]))
                with self._read() as conn:
                    page = conn.execute(query).all()
                for _, item_id, payload in page:
                    yield StoredRecord(run_id, item_id, json.loads(payload))
                if len(page) < batch:
                    break
                after = (page[-1][0], page[-1][1])
                del page  # so that only one page is held while the next is read

    def count_records(self, run_id: str) -> int:
        with self._read() as conn:
            query = sa.select(sa.func.count()).select_from(records_table).where(records_table.c.run_id == run_id)
            return conn.execute(query).scalar_one()

    # stats -------------------------------------------------------------
    def stats(self, run_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Stat rows joined with their run's labels. The identity and direction of a stat in a store not yet
        migrated (only opened to read) come from its name."""
        named_only = self._stats_named_only
        columns: list[sa.Column[Any] | sa.Table] = (
            [c for c in stats_table.c if c.name not in ADDED_STAT_COLUMNS] if named_only else [stats_table])
        declared = registered_metrics() if named_only else {}
        query = (
            sa.select(*columns, runs_table.c.labels, runs_table.c.kind)
            .join(runs_table, runs_table.c.run_id == stats_table.c.run_id)
            .order_by(runs_table.c.created_at, stats_table.c.name, stats_table.c.split, stats_table.c.subgroup)
        )
        if run_ids is not None:
            query = query.where(stats_table.c.run_id.in_(list(run_ids)))
        with self._read() as conn:
            rows = []
            for r in conn.execute(query).mappings():
                row = dict(r)
                row["labels"] = json.loads(row["labels"])
                if named_only:
                    row.update(legacy_stat_fields(row["name"], declared))
                rows.append(row)
            return rows

    @cached_property
    def _stats_named_only(self) -> bool:
        """Whether the stats table predates the identity columns (an old store opened only to read)."""
        with self._read() as conn:
            return "metric" not in {c["name"] for c in sa.inspect(conn).get_columns(stats_table.name)}

    def stats_by_run(self, run_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """`stats(run_ids)` grouped by run: every id asked for, with its rows in `stats` order ([] if none)."""
        ids = list(dict.fromkeys(run_ids))
        grouped: dict[str, list[dict[str, Any]]] = {run_id: [] for run_id in ids}
        for row in self.stats(ids):
            grouped[row["run_id"]].append(row)
        return grouped

    # request cache -----------------------------------------------------
    def cache_get(self, key: str) -> dict[str, Any] | None:
        with self._read() as conn:
            found = conn.execute(sa.select(cache_table.c.response).where(cache_table.c.key == key)).scalar()
        return None if found is None else json.loads(found)

    def cache_get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        with self._read() as conn:
            for start in range(0, len(keys), 500):
                query: sa.Select[str, str] = sa.select(cache_table.c.key, cache_table.c.response).where(
                    cache_table.c.key.in_(keys[start : start + 500])
                )
                out.update((k, json.loads(v)) for k, v in conn.execute(query))
        return out

    def cache_put_many(self, model: str, entries: dict[str, dict[str, Any]]) -> None:
        if not entries:
            return
        now = time.time()
        # In key order, so two writers of overlapping entries lock them in the same order (no deadlock).
        rows = [
            {"key": k, "model": model, "response": json.dumps(v), "created_at": now} for k, v in sorted(entries.items())
        ]
        with self._write() as conn:
            conn.execute(insert_ignore(self.engine, cache_table), rows)

    # internals ---------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """A transaction on the writer; any database error, at begin, inside or at commit, is a StoreError."""
        if self.read_only:
            raise StoreError(f"store {self.describe()} is read-only for this user: copy it somewhere writable "
                             "and give that copy with --store")
        try:
            with self.writer.begin() as conn:
                yield conn
        except SQLAlchemyError as err:
            raise StoreError(f"cannot write to store {self.describe()}: {_first_line(err)}; check that its disk has "
                             "room and it can be written, then rerun to resume (what is stored is kept)") from None

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as err:
            raise StoreError(f"cannot read store {self.describe()}: {_first_line(err)}") from None


def json_text(value: Any) -> str:
    """JSON on one line, readable UTF-8 where possible; escaped where the text is not valid Unicode (a lone
    surrogate, e.g. from a model's bytes decoded with errors='surrogateescape'), so it can always be written."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value)
    return text


def _writable(database: Path) -> bool:
    """Whether this process may write the SQLite file and make its journal files beside it."""
    return os.access(database, os.W_OK) and os.access(database.parent, os.W_OK)


def _run_row(row) -> dict[str, Any]:
    out = dict(row)
    out["spec"] = json.loads(out["spec"])
    out["labels"] = json.loads(out["labels"])
    return out


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
