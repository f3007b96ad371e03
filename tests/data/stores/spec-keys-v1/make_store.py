"""Writes tests/data/stores/spec-keys-v1/: a small store whose runs and checkpoints carry v1 spec keys.

v1 keys hash every field of a spec (tony up to commit bdc4737); `tony.core.store_migrate_spec_keys` moves
stores to the keys of today, which leave out the fields still at their defaults. Run once, with the code of
bdc4737 first on the path:

    git archive bdc4737 src configs | tar -x -C /tmp/tony-keys-v1
    PYTHONPATH=/tmp/tony-keys-v1/src python tests/data/stores/spec-keys-v1/make_store.py OUT

It holds two language-model runs made by `tony run` (their adapter differs from the default one in one and two
fields), a tiny in-context-learning evaluation (a training spec nested in the run's spec, whose key is also
in the run's labels; its 2 MB checkpoint is discarded) and the checkpoint of a tiny image classifier (training
`VISION_TRAIN` on `vision_images()`).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

LM_ENTRIES = ("synthetic_induction:max_instances=4", "synthetic_induction:max_instances=4,max_tokens=8")
ICL_EVAL = {"train": {"function_class": "linear", "dims": 3, "model_size": "tiny", "steps": 3, "batch_size": 4,
                      "curriculum": {"dims_start": 3, "dims_end": 3, "points_start": 8, "points_end": 8}},
            "n_prompts": 6, "baselines": ["least_squares"]}
VISION_TRAIN = {"width": 2, "num_classes": 2, "in_channels": 1, "image_size": 8, "epochs": 1, "batch_size": 8,
                "data": {"images": "spec-keys-v1 vision_images()"}}


def vision_images():
    """16 deterministic 1 x 8 x 8 uint8 images and their labels (0 and 1 alternating)."""
    import torch

    images = (torch.arange(16 * 64) * 37 % 251).to(torch.uint8).reshape(16, 1, 8, 8)
    return images, torch.arange(16) % 2


def main(out: Path) -> None:
    env = {**os.environ, "TONY_PROGRESS": "0"}
    subprocess.run([sys.executable, "-m", "tony.cli", "run", *LM_ENTRIES, "--store", str(out)], check=True, env=env)

    from tony.core.checkpoints import discard_checkpoints
    from tony.core.runner import execute
    from tony.core.store import Store
    from tony.icl.study import ICLEvalSpec
    from tony.vision.train import VisionTrainSpec, train

    store = Store(str(out))
    icl = ICLEvalSpec.parse(ICL_EVAL)
    assert execute(icl.task(store), store).status == "complete"
    assert discard_checkpoints(store, icl.train) == 1
    assert train(VisionTrainSpec.parse(VISION_TRAIN), *vision_images(), store).step == 2
    store.close()


def compact(database: Path) -> None:
    """One self-contained file (the WAL folded in, no -wal or -shm beside it), once no process has it open."""
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("VACUUM")
    conn.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--compact"]:
        compact(Path(sys.argv[2]) / "tony.sqlite")
    else:
        main(Path(sys.argv[1]))
        subprocess.run([sys.executable, __file__, "--compact", sys.argv[1]], check=True)
