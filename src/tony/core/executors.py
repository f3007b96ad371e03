"""Where runs execute. `local`: in this process, or a pool of worker processes.

Every run is independent: a failed run is reported and the others go on.
The same specs give the same stored results whichever executor runs them.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from tony.core.errors import SpecError
from tony.core.runner import RunResult, execute
from tony.core.spec import Spec
from tony.core.store import Store

if TYPE_CHECKING:
    from tony.core.runner import Task


class RunnableSpec(Spec):
    """A spec that its domain can turn into a Task."""

    def task(self, store: Store) -> Task:
        raise NotImplementedError


def run_local(specs: list[RunnableSpec], store: str | None = None, *, workers: int = 1,
              batch_size: int = 8) -> Iterator[RunResult]:
    """Run every spec; yield each RunResult as it finishes (in order when workers == 1). Bad settings are
    refused here, before anything runs: batch size is not in a run's id, so a bad one must never store a run."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise SpecError(f"batch size {batch_size!r}: give a whole number of instances, 1 or more (default 8)")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SpecError(f"workers {workers!r}: give a whole number of processes, 1 or more")
    return _results(specs, store, workers, batch_size)


def _results(specs: list[RunnableSpec], store: str | None, workers: int, batch_size: int) -> Iterator[RunResult]:
    if workers <= 1 or len(specs) <= 1:
        opened = Store(store)
        for spec in specs:
            yield execute(spec.task(opened), opened, batch_size=batch_size)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_run_one, spec, store, batch_size) for spec in specs]
        for future in futures:
            yield future.result()


def _run_one(spec: RunnableSpec, store: str | None, batch_size: int) -> RunResult:
    opened = Store(store)
    return execute(spec.task(opened), opened, batch_size=batch_size)
