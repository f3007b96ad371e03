"""One process running a small counting spec through the real runner and store, for the lease tests.

    python lease_worker.py STORE_URL LOG N [--kill-at-batch K] [--ready FILE --go FILE]

Each item's record is its number squared; every item a process computes is appended to LOG, so the tests can
see which process computed what. With --kill-at-batch the process kills itself with SIGKILL as it starts its
K-th batch (after K batches are stored); with --ready/--go it says it is ready and waits for the go file, so two
processes start computing together.
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from pathlib import Path
from typing import Any

from tony.core.runner import execute
from tony.core.spec import Spec
from tony.core.stats import Stat, mean_stat
from tony.core.store import Store


class CountSpec(Spec):
    n: int
    """How many items."""


class CountTask:
    kind = "test-count"

    def __init__(self, spec: CountSpec, log: Path, kill_at_batch: int | None, delay_s: float) -> None:
        self.spec, self.log, self.kill_at_batch, self.delay_s = spec, log, kill_at_batch, delay_s
        self.batches = 0

    def labels(self) -> dict[str, Any]:
        return {"scenario": "count"}

    def items(self) -> list[str]:
        return [f"item-{i:04d}" for i in range(self.spec.n)]

    def process(self, item_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
        if self.batches == self.kill_at_batch:
            os.kill(os.getpid(), signal.SIGKILL)
        self.batches += 1
        with self.log.open("a") as out:
            out.write("".join(f"{item}\n" for item in item_ids))
        time.sleep(self.delay_s)
        return [(item, {"square": int(item[5:]) ** 2}) for item in item_ids]

    def aggregate(self, records: list[dict[str, Any]]) -> list[Stat]:
        return [mean_stat("square", [r["square"] for r in records])]

    def close(self) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("store")
    parser.add_argument("log", type=Path)
    parser.add_argument("n", type=int)
    parser.add_argument("--kill-at-batch", type=int)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--delay-s", type=float, default=0.0)
    parser.add_argument("--ready", type=Path)
    parser.add_argument("--go", type=Path)
    args = parser.parse_args()
    store = Store(args.store)
    task = CountTask(CountSpec(n=args.n), args.log, args.kill_at_batch, args.delay_s)
    if args.ready:
        args.ready.touch()
        while not args.go.exists():
            time.sleep(0.01)
    result = execute(task, store, batch_size=args.batch_size)
    raise SystemExit(0 if result.status == "complete" else 1)


if __name__ == "__main__":
    main()
