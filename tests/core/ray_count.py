"""A small counting spec for the Ray executor's tests, importable by Ray's workers (they get the driver's path).

Each item's record is its number squared and the pid that computed it; every batch a process computes is logged,
so the tests see which process computed what. With `kill_marker`, the first process to reach batch `kill_at_batch`
creates the marker and kills itself with SIGKILL (so the retry Ray makes finds the marker and runs on).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from tony.core.errors import DataError
from tony.core.spec import RunnableSpec
from tony.core.stats import Stat, mean_stat
from tony.core.store import Store


class RayCountSpec(RunnableSpec):
    n: int
    """How many items."""
    log: str
    """File each computed item is appended to, with the pid that computed it."""
    kill_marker: str = ""
    """A file: absent, the process reaching batch `kill_at_batch` creates it and kills itself."""
    kill_at_batch: int = 1
    """The batch (from 0, counted in this process) at which the process kills itself."""
    delay_s: float = 0.0
    """Sleep per batch, so a driver can be killed while runs are in flight."""
    broken: bool = False
    """Fail every batch with a DataError (a run that fails for its own reasons)."""

    def task(self, store: Store) -> RayCountTask:
        return RayCountTask(self)


class RayCountTask:
    kind = "test-ray-count"

    def __init__(self, spec: RayCountSpec) -> None:
        self.spec = spec
        self.batches = 0

    def labels(self) -> dict[str, Any]:
        return {"scenario": "count", "model": f"n={self.spec.n}"}

    def items(self) -> list[str]:
        return [f"item-{i:04d}" for i in range(self.spec.n)]

    def process(self, item_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
        if self.spec.broken:
            raise DataError("broken on purpose")
        marker = Path(self.spec.kill_marker) if self.spec.kill_marker else None
        if marker is not None and self.batches == self.spec.kill_at_batch and not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        self.batches += 1
        with open(self.spec.log, "a") as out:
            out.write("".join(f"{item} {os.getpid()}\n" for item in item_ids))
        time.sleep(self.spec.delay_s)
        return [(item, {"square": int(item[5:]) ** 2, "pid": os.getpid()}) for item in item_ids]

    def aggregate(self, records: list[dict[str, Any]]) -> list[Stat]:
        return [mean_stat("square", [r["square"] for r in records])]

    def close(self) -> None:
        pass
