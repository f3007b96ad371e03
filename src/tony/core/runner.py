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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from tony.core.errors import TonyError
from tony.core.progress import progress_bar
from tony.core.spec import Spec
from tony.core.stats import Stat
from tony.core.store import Store
from tony.core.store_leases import new_owner

OTHERS_POLL_S = 0.5
"""How often a process that waits for another's leased items looks at the store again."""


class Task(Protocol):
    """A spec made executable by its domain."""

    @property
    def spec(self) -> Spec:
        """The spec this task runs (read-only here, so a task may hold a subclass of Spec)."""
        ...

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
            _store_records(task, store, run_id, todo, batch_size, bar.update)
        # In the task's item order, not the order stored (processes sharing a run store theirs as they finish),
        # so the stats (their bootstrap intervals included) do not depend on who computed what.
        position = {item: i for i, item in enumerate(items)}
        records = sorted(store.records(run_id), key=lambda r: position.get(r["item_id"], len(position)))
        stats = task.aggregate(records)
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


def _store_records(task: Task, store: Store, run_id: str, todo: list[str], batch_size: int,
                   advance: Callable[[int], Any]) -> None:
    """Compute and store the records of `todo`, in order, a leased batch at a time.

    Another process running the same spec leases its own batches: items it holds are left to it and
    checked again once this process has nothing else to do, so the two share the items instead of each
    computing all of them (tony.core.store_leases)."""
    owner = new_owner()
    try:
        with store.leases_renewed(run_id, owner):
            while todo:
                held_by_others: list[str] = []
                for begin in range(0, len(todo), batch_size):
                    batch = todo[begin : begin + batch_size]
                    claimed, stored = store.claim_items(run_id, owner, batch)  # skips what others hold
                    if claimed:
                        store.add_records(run_id, task.process(claimed))
                        store.release_leases(run_id, owner)
                    taken = {*claimed, *stored}
                    held_by_others.extend(i for i in batch if i not in taken)
                    advance(len(claimed) + len(stored))
                todo = _wait_for_others(store, run_id, held_by_others, advance)
    finally:
        store.release_leases(run_id, owner)  # after a failure, others need not wait for these to expire


def _wait_for_others(store: Store, run_id: str, held: list[str], advance: Callable[[int], Any]) -> list[str]:
    """Items of `held` not yet stored, once one of them is stored or free to take (polling the store)."""
    while held:
        stored = store.done_items(run_id)
        left = [i for i in held if i not in stored]
        advance(len(held) - len(left))
        others = store.leased_items(run_id)
        if len(left) < len(held) or any(i not in others for i in left):
            return left
        held = left
        time.sleep(OTHERS_POLL_S)
    return []


def _failed(store: Store, run_id: str, labels: dict[str, Any], message: str, start: float) -> RunResult:
    store.fail_run(run_id, message)
    return RunResult(run_id, labels, "failed", error=message, wall_s=time.perf_counter() - start)


def _describe(labels: dict[str, Any]) -> str:
    return " ".join(str(v) for v in labels.values())[:60]


def _stat_from_row(row: dict[str, Any]) -> Stat:
    return Stat.from_row(row)
