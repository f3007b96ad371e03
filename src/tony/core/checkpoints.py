"""Training checkpoints as store artifacts, keyed by the training spec: shared by every domain that trains.

A checkpoint is one `torch.save` file (model, optimizer, step, loss history, whatever the trainer
needs to resume) stored with `Store.put_artifact` under the name ``checkpoint/<spec key>``: content-hashed beside the
database and written atomically by the store (a temporary file, then a rename), so a kill at
any moment leaves the previous checkpoint whole. The latest row of that name is the spec's
checkpoint; older ones are removed once a newer one is stored. The checkpoint whose step equals
the spec's `steps` is the trained model that evaluations load.

torch is imported when a checkpoint is written or read, so the kernel itself does not need it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tony.core.errors import DataError
from tony.core.spec import Spec
from tony.core.store import Store
from tony.core.store_schema import artifacts_table

FORMAT = 1
"""Version of the checkpoint's layout; a different one is refused with a message."""


def checkpoint_name(spec: Spec) -> str:
    """The artifact name of `spec`'s checkpoints."""
    return f"checkpoint/{spec.key()}"


def _rows(store: Store, spec: Spec) -> list[str]:
    """Keys of `spec`'s checkpoints, newest first."""
    query = (sa.select(artifacts_table.c.key).where(artifacts_table.c.name == checkpoint_name(spec))
             .order_by(artifacts_table.c.created_at.desc()))
    with store.engine.connect() as conn:
        return list(conn.execute(query).scalars())


def latest_checkpoint(store: Store, spec: Spec) -> Path | None:
    """The file of `spec`'s newest checkpoint, or None when it has none."""
    keys = _rows(store, spec)
    return store.artifact_path(keys[0]) if keys else None


def save_checkpoint(store: Store, spec: Spec, state: dict[str, Any]) -> Path:
    """Store `state` as `spec`'s newest checkpoint, then drop the older ones; return its file."""
    import torch

    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "spec_key": spec.key(), **state}, buffer)
    key = store.put_artifact(checkpoint_name(spec), buffer.getvalue())
    _drop(store, spec, keep=key)
    return store.artifact_path(key)


def load_checkpoint(store: Store, spec: Spec) -> dict[str, Any] | None:
    """`spec`'s newest checkpoint, or None when it has none.

    A checkpoint whose file was deleted is forgotten (training then starts again from step 0);
    one that cannot be read is a DataError that says how to recover, and nothing is removed.
    """
    for key in _rows(store, spec):
        path = store.artifact_path(key)
        if path.is_file():
            return _read(path, spec)
        _drop_keys(store, spec, [key])
    return None


def _read(path: Path, spec: Spec) -> dict[str, Any]:
    import torch

    recover = f"delete {path} to train again from step 0, or rerun the training with --restart"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the same user-fixable problem
        raise DataError(f"checkpoint {path} of training {spec.key()[:12]} is corrupted or truncated "
                        f"(torch.load: {type(err).__name__}): {recover}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT or state.get("spec_key") != spec.key():
        raise DataError(f"checkpoint {path} is not a tony checkpoint of training {spec.key()[:12]}: {recover}")
    return state


def discard_checkpoints(store: Store, spec: Spec) -> int:
    """Remove every checkpoint of `spec` (training then starts from step 0); return how many."""
    return _drop(store, spec, keep=None)


def _drop(store: Store, spec: Spec, keep: str | None) -> int:
    """Delete `spec`'s checkpoint rows and files other than `keep`; return how many."""
    stale = [k for k in _rows(store, spec) if k != keep]
    _drop_keys(store, spec, stale)
    return len(stale)


def _drop_keys(store: Store, spec: Spec, keys: list[str]) -> None:
    if not keys:
        return
    with store.writer.begin() as conn:
        conn.execute(artifacts_table.delete().where(artifacts_table.c.name == checkpoint_name(spec))
                     .where(artifacts_table.c.key.in_(keys)))
    for key in keys:
        store.artifact_path(key).unlink(missing_ok=True)
