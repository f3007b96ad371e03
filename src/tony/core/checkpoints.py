"""Training checkpoints as store artifacts, keyed by the training spec: shared by every domain that trains.

A checkpoint is one `torch.save` file (model, optimizer, step, loss history, whatever the trainer
needs to resume) stored with `Store.put_artifact` under the name ``checkpoint/<spec key>``: content-hashed beside the
database and written atomically by the store (a temporary file, then a rename), so a kill at
any moment leaves the previous checkpoint whole. The latest row of that name is the spec's
checkpoint; older ones are removed once a newer one is stored. The checkpoint whose step equals
the spec's `steps` is the trained model that evaluations load.

Every read and write goes through the store's artifact methods (so its errors are StoreErrors that say
what to check). torch is imported when a checkpoint is written or read, so the kernel itself does not need it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from tony.core.errors import DataError
from tony.core.spec import Spec
from tony.core.store import Store

FORMAT = 1
"""Version of the checkpoint's layout; a different one is refused with a message."""


def checkpoint_name(spec: Spec) -> str:
    """The artifact name of `spec`'s checkpoints."""
    return f"checkpoint/{spec.key()}"


def latest_checkpoint(store: Store, spec: Spec) -> Path | None:
    """The file of `spec`'s newest checkpoint, or None when it has none."""
    latest = store.latest_artifact(checkpoint_name(spec))
    return None if latest is None else latest.path


def save_checkpoint(store: Store, spec: Spec, state: dict[str, Any]) -> Path:
    """Store `state` as `spec`'s newest checkpoint, then drop the older ones; return its file."""
    import torch

    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "spec_key": spec.key(), **state}, buffer)
    key = store.put_artifact(checkpoint_name(spec), buffer.getvalue())
    store.drop_artifacts(checkpoint_name(spec), keep=key)
    return store.artifact_path(key)


def load_checkpoint(store: Store, spec: Spec) -> dict[str, Any] | None:
    """`spec`'s newest checkpoint, or None when it has none.

    A checkpoint whose file was deleted is forgotten (training then starts again from step 0);
    one that cannot be read is a DataError that says how to recover, and nothing is removed.
    """
    from tony.core.store_migrate_spec_keys import adopt_v1_checkpoint

    adopt_v1_checkpoint(store, spec)  # one stored before spec keys left out defaults moves to its name now
    for checkpoint in store.artifacts(checkpoint_name(spec)):
        if checkpoint.path.is_file():
            return read_checkpoint_file(checkpoint.path, spec.key())
        store.drop_artifact(checkpoint.key)
    return None


def read_checkpoint_file(path: Path, key: str) -> dict[str, Any]:
    """The state saved in `path` by the training whose spec key is `key`; a DataError saying how to recover when
    the file cannot be read or is not such a checkpoint."""
    import torch

    recover = f"delete {path} to train again from step 0, or rerun the training with --restart"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the same user-fixable problem
        raise DataError(f"checkpoint {path} of training {key[:12]} is corrupted or truncated "
                        f"(torch.load: {type(err).__name__}): {recover}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT or state.get("spec_key") != key:
        raise DataError(f"checkpoint {path} is not a tony checkpoint of training {key[:12]}: {recover}")
    return state


def discard_checkpoints(store: Store, spec: Spec) -> int:
    """Remove every checkpoint of `spec`, those under its v1 name too (training then starts from step 0); return
    how many."""
    from tony.core.store_migrate_spec_keys import v1_checkpoint_name

    return store.drop_artifacts(checkpoint_name(spec)) + store.drop_artifacts(v1_checkpoint_name(spec))
