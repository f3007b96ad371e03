"""Where runs execute. `local`: in this process, or a pool of worker processes; `ray`: each run a Ray task, on a
local cluster started for the command or on one joined by address (tony.core.executor_ray).

Every domain goes through `run_specs`, so none names Ray. Every run is independent: a failed run is reported and
the others go on. The same specs give the same stored results whichever executor runs them.
"""

from __future__ import annotations

import ctypes
import importlib.util
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Protocol, runtime_checkable

from tony.core.errors import SpecError, StoreError
from tony.core.runner import RunResult, execute
from tony.core.spec import RunnableSpec
from tony.core.store import Store
from tony.core.store_schema import resolve_url

PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal this process gets when the thread that started it ends."""
WATCHDOG_INTERVAL_S = 0.5
EXECUTORS = ("local", "ray")
"""The executors `run_specs` knows, as `--executor` takes them."""
DEFAULT_RESOURCES = {"num_cpus": 1.0}
"""What one run occupies on a Ray worker unless its spec declares otherwise (`DeclaresResources`)."""


@runtime_checkable
class DeclaresResources(Protocol):
    """A spec that says what one of its runs occupies on a worker (the `ray` executor schedules it so)."""

    def worker_resources(self) -> dict[str, float]:
        """Ray's task options for one run, e.g. {"num_cpus": 2.0, "num_gpus": 1.0}."""
        ...


def run_specs(specs: Sequence[RunnableSpec], store: str | None = None, *, executor: str = "local", workers: int = 1,
              batch_size: int = 8, ray_address: str | None = None) -> Iterator[RunResult]:
    """Run every spec on `executor`; yield each RunResult in the order of `specs`, each stored as it finishes.

    local: `workers` processes on this machine (`run_local`). ray: each spec a Ray task; without `ray_address`
    on a cluster of `workers` CPUs started on 127.0.0.1 for this call, with it on that cluster, whose results
    need a PostgreSQL store (`tony.core.executor_ray.run_ray`). Bad settings are refused before anything runs."""
    check_settings(workers, batch_size)
    check_executor(store, executor, ray_address)
    if executor == "local":
        return _results(specs, store, workers, batch_size)
    from tony.core.executor_ray import run_ray

    return run_ray(specs, store, workers=workers, batch_size=batch_size, address=ray_address)


def check_executor(store: str | None, executor: str, ray_address: str | None) -> None:
    """Refuse an executor that cannot run here, before anything runs (or trains): an unknown name, an address
    without ray, a SQLite store for a cluster joined by address (its workers may be on other machines)."""
    if executor not in EXECUTORS:
        raise SpecError(f"executor {executor!r}: choose one of {', '.join(EXECUTORS)}")
    if ray_address is not None and executor != "ray":
        raise SpecError("--ray-address joins a Ray cluster: give it with --executor ray")
    if executor == "ray" and importlib.util.find_spec("ray") is None:
        raise SpecError("--executor ray needs Ray: pip install 'tony[ray]'")
    if ray_address is not None and resolve_url(store).startswith("sqlite"):
        raise StoreError(f"a Ray cluster joined by --ray-address cannot share the SQLite store {resolve_url(store)} "
                         "(its workers may be on other machines): give --store postgresql://USER@HOST/DATABASE")


def worker_resources(spec: RunnableSpec) -> dict[str, float]:
    """What one run of `spec` occupies on a worker: its own declaration, else one CPU."""
    return spec.worker_resources() if isinstance(spec, DeclaresResources) else dict(DEFAULT_RESOURCES)


def run_local(specs: Sequence[RunnableSpec], store: str | None = None, *, workers: int = 1,
              batch_size: int = 8) -> Iterator[RunResult]:
    """Run every spec; yield each RunResult in the order of `specs` (with workers, a later run may finish first
    and then waits its turn to be yielded; each is stored as soon as it finishes)."""
    check_settings(workers, batch_size)
    return _results(specs, store, workers, batch_size)


def check_settings(workers: int, batch_size: int) -> None:
    """Refuse bad settings before anything runs: batch size is not in a run's id, so a bad one must never store
    a run."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise SpecError(f"batch size {batch_size!r}: give a whole number of instances, 1 or more (default 8)")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SpecError(f"workers {workers!r}: give a whole number of processes, 1 or more")


def _results(specs: Sequence[RunnableSpec], store: str | None, workers: int, batch_size: int) -> Iterator[RunResult]:
    if workers <= 1 or len(specs) <= 1:
        opened = Store(store)
        for spec in specs:
            yield execute(spec.task(opened), opened, batch_size=batch_size)
        return
    context = multiprocessing.get_context("spawn")
    # The workers end with this process (kill -9 included): an orphan would go on computing and hold the store.
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=die_with_parent,
                             initargs=(os.getpid(),)) as pool:
        futures = [pool.submit(_run_one, spec, store, batch_size) for spec in specs]
        for future in futures:
            yield future.result()


def _run_one(spec: RunnableSpec, store: str | None, batch_size: int) -> RunResult:
    opened = Store(store)
    return execute(spec.task(opened), opened, batch_size=batch_size)


def die_with_parent(parent: int) -> None:
    """Worker initializer: end this process as soon as `parent` (the pid that started it) has ended.

    On Linux the kernel sends SIGKILL at the parent's death (prctl PR_SET_PDEATHSIG); elsewhere, or where prctl
    is refused, a daemon thread polls the parent pid. Either way the worker dies as a kill -9 would kill it:
    batches already committed stay, the one in flight is rolled back, and the next run resumes.
    """
    if sys.platform.startswith("linux") and _parent_death_signal():
        # The parent may have died before prctl took effect; then this process was already handed to another.
        if os.getppid() != parent:
            os._exit(1)
        return
    threading.Thread(target=_watch_parent, args=(parent,), name="tony-parent-watchdog", daemon=True).start()


def _parent_death_signal() -> bool:
    """Ask Linux for SIGKILL when the parent ends; False where that cannot be set.

    The kernel ties it to the parent's thread that started this worker, not to the whole process: the pool's
    processes are started by the thread that first asks run_local for a result (it submits every run).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:  # an orphan is handed to another process, so its parent pid changes
        time.sleep(WATCHDOG_INTERVAL_S)
    os._exit(1)
