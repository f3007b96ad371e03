"""Artifacts of the results store: content-hashed files beside the database (checkpoints, plots), one row each.

`Store` takes these methods from `ArtifactsMixin`; they use its engine, writer transactions and artifact folder.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import sqlalchemy as sa

from tony.core.errors import StoreError
from tony.core.store_schema import artifacts_table, insert_ignore


class Artifact(NamedTuple):
    """One stored artifact, as `Store.artifacts` lists it."""

    key: str
    """SHA-256 of its bytes, which name its file."""
    name: str
    """What it was stored as, e.g. ``checkpoint/<spec key>``."""
    run_id: str | None
    """The run it belongs to, if any."""
    size: int
    """Its size in bytes."""
    created_at: float
    """When its row was stored (seconds since the epoch)."""
    path: Path
    """Its file beside the database (which may have been deleted since)."""


class ArtifactsMixin:
    """The artifact methods of `Store`."""

    engine: sa.Engine
    artifact_dir: Path

    if TYPE_CHECKING:  # Store's own, declared here for the type checker
        def _write(self) -> AbstractContextManager[sa.Connection]: ...

        def _read(self) -> AbstractContextManager[sa.Connection]: ...

    def put_artifact(self, name: str, data: bytes, run_id: str | None = None) -> str:
        """Store `data` as a content-hashed file beside the database; return its key."""
        key = hashlib.sha256(data).hexdigest()
        path = self.artifact_path(key)
        if not path.exists():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                # A temporary name of this writer's own, so concurrent writers never share a half-written file.
                tmp = path.with_name(f"{key}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
                tmp.write_bytes(data)
                tmp.replace(path)
            except OSError as err:
                raise StoreError(f"cannot write artifact '{name}' under {self.artifact_dir}: {err}") from None
        with self._write() as conn:
            conn.execute(
                insert_ignore(self.engine, artifacts_table).values(
                    key=key, name=name, run_id=run_id, size=len(data), created_at=time.time()
                )
            )
        return key

    def artifact_path(self, key: str) -> Path:
        return self.artifact_dir / key[:2] / key

    def artifacts(self, name: str) -> list[Artifact]:
        """The artifacts stored under `name`, newest first."""
        query = (sa.select(artifacts_table).where(artifacts_table.c.name == name)
                 .order_by(artifacts_table.c.created_at.desc(), artifacts_table.c.key))
        with self._read() as conn:
            return [Artifact(**row, path=self.artifact_path(row["key"])) for row in conn.execute(query).mappings()]

    def latest_artifact(self, name: str) -> Artifact | None:
        """The newest artifact stored under `name`, or None when there is none."""
        found = self.artifacts(name)
        return found[0] if found else None

    def drop_artifacts(self, name: str, *, keep: str | None = None) -> int:
        """Delete the artifacts named `name` (rows, then files), all but the one whose key is `keep`; how many."""
        where = artifacts_table.c.name == name
        if keep is not None:
            where = sa.and_(where, artifacts_table.c.key != keep)
        with self._write() as conn:
            keys: list[str] = list(conn.execute(sa.select(artifacts_table.c.key).where(where)).scalars())
            # Only the rows just read: one a concurrent writer adds meanwhile stays (PostgreSQL reads committed).
            conn.execute(artifacts_table.delete().where(artifacts_table.c.key.in_(keys)))
        self._unlink(keys)
        return len(keys)

    def drop_artifact(self, key: str) -> None:
        """Delete one artifact (its row, then its file), e.g. one whose file has gone; nothing if it is not stored."""
        with self._write() as conn:
            deleted = conn.execute(artifacts_table.delete().where(artifacts_table.c.key == key)).rowcount
        self._unlink([key] if deleted else [])

    def _unlink(self, keys: list[str]) -> None:
        # Files go after their rows are committed: a crash in between leaves a file no row names, never a
        # row without its file. One row per key (the primary key), so no other artifact shares the file.
        for key in keys:
            try:
                self.artifact_path(key).unlink(missing_ok=True)
            except OSError as err:
                raise StoreError(f"cannot delete artifact {key[:12]} under {self.artifact_dir}: {err}") from None
