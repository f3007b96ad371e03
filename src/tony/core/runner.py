"""Running one spec: records committed in batches, resumable, stats at the end.

The runner knows no domain. A domain turns its spec into a `Task`: the list
of item ids, a function from a batch of ids to records, and a function from
all records to stats. A run whose records are partly stored (a crash, a
kill -9) continues from where it stopped; a run already complete is not
run again.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Protocol

from tony.core.errors import TonyError
from tony.core.progress import progress_bar
from tony.core.spec import Spec
from tony.core.stats import Stat
from tony.core.store import Store


class Task(Protocol):
    """A spec made executable by its domain."""

    spec: Spec
    kind: str
    """The domain, e.g. "lm"; stored with the run."""

    def labels(self) -> dict[str, Any]:
        """Short, human-readable fields (scenario, model, ...) for tables and the site."""
        ...

    def items(self) -> list[str]:
        """Every item id of the run, in order."""
        ...

    def process(self, item_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
        """Records (item id, JSON payload) for a batch of items."""
        ...

    def aggregate(self, records: list[dict[str, Any]]) -> list[Stat]:
        """Stats from every record of the run."""
        ...

    def close(self) -> None: ...


@dataclass
class RunResult:
    run_id: str
    labels: dict[str, Any]
    status: str
    """complete, or failed."""
    stats: list[Stat] = field(default_factory=list)
    error: str | None = None
    wall_s: float = 0.0
    reused: bool = False
    """True when the run was already complete in the store."""


def execute(task: Task, store: Store, *, batch_size: int = 8) -> RunResult:
    """Run `task` to completion in `store`, resuming what is stored. Errors fail this run only."""
    run_id = task.spec.key()
    labels = task.labels()
    existing = store.run(run_id)
    if existing is not None and existing["status"] == "complete":
        stats = [_stat_from_row(r) for r in store.stats([run_id])]
        return RunResult(run_id, labels, "complete", stats, wall_s=existing["wall_s"] or 0.0, reused=True)
    store.begin_run(run_id, task.kind, task.spec.model_dump(mode="json"), labels)
    start = time.perf_counter()
    try:
        items = task.items()
        done = store.done_items(run_id)
        todo = [i for i in items if i not in done]
        with progress_bar(len(items), _describe(labels), initial=len(items) - len(todo)) as bar:
            for begin in range(0, len(todo), batch_size):
                batch = todo[begin : begin + batch_size]
                store.add_records(run_id, task.process(batch))
                bar.update(len(batch))
        stats = task.aggregate(store.records(run_id))
        wall = time.perf_counter() - start
        store.finish_run(run_id, stats, wall)
        return RunResult(run_id, labels, "complete", stats, wall_s=wall)
    except TonyError as err:
        return _failed(store, run_id, labels, str(err), start)
    except Exception as err:  # noqa: BLE001 - one broken run must not stop the suite
        detail = "".join(traceback.format_exception_only(type(err), err)).strip()
        return _failed(store, run_id, labels, f"internal error: {detail}", start)
    finally:
        task.close()


def _failed(store: Store, run_id: str, labels: dict[str, Any], message: str, start: float) -> RunResult:
    store.fail_run(run_id, message)
    return RunResult(run_id, labels, "failed", error=message, wall_s=time.perf_counter() - start)


def _describe(labels: dict[str, Any]) -> str:
    return " ".join(str(v) for v in labels.values())[:60]


def _stat_from_row(row: dict[str, Any]) -> Stat:
    return Stat(row["name"], row["value"], row["ci_low"], row["ci_high"], row["n"], row["split"], row["subgroup"])
