"""The `ray` executor: each spec a Ray task, on a local cluster started for the command or on a cluster joined by
address. The task runs the kernel's runner (`execute`) on a worker, so a run stores the same records and stats as
under `local`, and resumes from whatever is stored wherever it ran before.

Where results go:

- PostgreSQL: every worker opens the store and writes its runs itself; the kernel's leases share a run's items
  between processes on any machine.
- SQLite, on a local cluster only: workers read the file and never write it. Every write goes through one writer,
  a Ray actor holding the store (`StoreWriter`): a task needs its writes answered while it runs (the items it
  claimed, the checkpoint it reads back), which Ray can only serve from an actor, not from the driver. At most
  `workers` such tasks are in flight, since Ray lends the CPU of a task waiting on the writer to the next task.
- SQLite with a cluster joined by address: refused, since its workers may be on other machines.

Faults: a worker process that dies (kill -9, out of memory) makes Ray run its task again (MAX_RETRIES); the run
resumes from its stored records, and the dead process's leases are taken over. A driver that dies takes its local
cluster with it (Ray's reaper) or ends its job on a joined one; started again, it resumes every run.

A local cluster listens on 127.0.0.1 only, with its dashboard off, token authentication with a token only its own
processes know, and its session files under the store's folder (STORE/ray), never in the user's home.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import sqlalchemy as sa

from tony.core.errors import SpecError, StoreError, TonyError
from tony.core.executors import check_executor, worker_resources
from tony.core.progress import progress_bar
from tony.core.runner import RunResult, execute
from tony.core.spec import RunnableSpec
from tony.core.store import Store

MAX_RETRIES = 3
"""How many times Ray runs a task again after its worker process died."""
RELAYED_WRITES = ("begin_run", "finish_run", "fail_run", "add_records", "claim_items", "renew_leases",
                  "release_leases", "cache_put_many", "put_artifact", "drop_artifacts", "drop_artifact")
"""Every Store method that writes: on SQLite a worker sends each to the run's `StoreWriter`."""
LOOPBACK_SETTING = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
"""Ray 2.60 turns a node's 127.0.0.1 into the machine's outside address and listens there (its GCS on every
interface); with this setting at 0 (multi-machine clusters off, as on macOS) every one of its servers binds to
127.0.0.1. Ray reads it when imported, so the driver's copy of the constant is set too."""
_started_here: str | None = None
"""The GCS address of the local cluster this process started (`local_cluster`), while it runs."""


def run_ray(specs: Sequence[RunnableSpec], store: str | None, *, workers: int, batch_size: int,
            address: str | None) -> Iterator[RunResult]:
    """Run every spec as a Ray task; yield each RunResult in the order of `specs`. Without `address`, on a cluster
    of `workers` CPUs started on 127.0.0.1 for this call (or on the one this process is already connected to)."""
    check_executor(store, "ray", address)
    opened = Store(store)  # created, or migrated, here once, before any worker opens it
    return _run(list(specs), opened, workers, batch_size, address)


def _run(specs: list[RunnableSpec], opened: Store, workers: int, batch_size: int,
         address: str | None) -> Iterator[RunResult]:
    import ray

    if not specs:  # no cluster to start for nothing
        return
    with _connected(address, workers, session_folder(opened)):
        url = _absolute(opened.url)
        writer: Any = None
        if opened.is_sqlite:
            if ray.get_runtime_context().gcs_address != _started_here:
                raise StoreError(f"this process is connected to a Ray cluster it did not start, which cannot share "
                                 f"the SQLite store {opened.describe()}: give --store postgresql://USER@HOST/DATABASE")
            writer = ray.remote(StoreWriter).options(num_cpus=0, max_restarts=-1, max_task_retries=-1).remote(url)
        try:
            # Only tasks that wait on the writer need a window: Ray starts the next task on a waiting one's CPU.
            yield from _dispatch(specs, opened, url, batch_size, writer, workers if writer else len(specs))
        finally:
            if writer is not None:
                ray.kill(writer)


def _dispatch(specs: list[RunnableSpec], opened: Store, url: str, batch_size: int, writer: Any,
              window: int) -> Iterator[RunResult]:
    import ray

    remote = ray.remote(run_on_worker)
    waiting = list(range(len(specs)))
    in_flight: dict[Any, int] = {}
    finished: dict[int, RunResult] = {}
    upcoming = 0
    with progress_bar(len(specs), "runs on ray", unit="run") as bar:
        while upcoming < len(specs):
            while waiting and len(in_flight) < window:
                index = waiting.pop(0)
                options = {"max_retries": MAX_RETRIES, **worker_resources(specs[index])}
                ref = remote.options(**options).remote(specs[index], url, batch_size, writer)
                in_flight[ref] = index
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                index = in_flight.pop(ref)
                finished[index] = _outcome(ref, specs[index], opened, writer)
                bar.update(1)
            while upcoming in finished:
                yield finished.pop(upcoming)
                upcoming += 1


def run_on_worker(spec: RunnableSpec, url: str, batch_size: int, writer: Any) -> RunResult:
    """One spec, run by the kernel's runner in a Ray worker: on the store itself, or through the SQLite writer."""
    store = Store(url, create=False) if writer is None else RelayStore(url, writer)
    try:
        return execute(spec.task(store), store, batch_size=batch_size)
    finally:
        store.close()


def _outcome(ref: Any, spec: RunnableSpec, opened: Store, writer: Any) -> RunResult:
    """The task's RunResult; a failed one (stored as failed) when Ray could not run it to its end."""
    import ray
    from ray.exceptions import RayError, RayTaskError

    try:
        result: RunResult = ray.get(ref)
        return result
    except RayError as err:
        cause = err.cause if isinstance(err, RayTaskError) else None
        message = str(cause) if isinstance(cause, TonyError) else f"on ray: {_first_line(err)}"
    run_id = spec.key()
    if opened.run(run_id) is not None:  # begun, then lost: marked failed, so the next call resumes it
        if writer is None:
            opened.fail_run(run_id, message)
        else:
            ray.get(writer.write.remote("fail_run", (run_id, message), {}))
    try:
        labels = spec.task(opened).labels()
    except Exception:  # noqa: BLE001 - the labels only name the run; its error is already in the message
        labels = {}
    return RunResult(run_id, labels, "failed", error=message)


class StoreWriter:
    """The one process that writes a SQLite store during a Ray run (a Ray actor: its calls run one at a time)."""

    def __init__(self, url: str) -> None:
        self.store = Store(url, create=False)

    def write(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call the Store write method `name` (one of RELAYED_WRITES)."""
        if name not in RELAYED_WRITES:
            raise ValueError(f"{name} is not a write of the store")
        return getattr(self.store, name)(*args, **kwargs)


class RelayStore(Store):
    """A SQLite store as a Ray worker holds it: reads from the file, every write through the run's StoreWriter."""

    def __init__(self, url: str, writer: Any) -> None:
        super().__init__(url, create=False)
        self.store_writer = writer

    def relay(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        import ray
        from ray.exceptions import RayTaskError

        try:
            return ray.get(self.store_writer.write.remote(name, args, kwargs))
        except RayTaskError as err:
            if isinstance(err.cause, TonyError):  # a StoreError says what to do: raised here as it was there
                raise err.cause from None
            raise

    def _write(self) -> NoReturn:  # a write not relayed is a bug, not a second writer
        raise RuntimeError(f"a Ray worker wrote the SQLite store {self.describe()} itself: add the method to "
                           "RELAYED_WRITES")


def _relayed(name: str) -> Any:
    def method(self: RelayStore, *args: Any, **kwargs: Any) -> Any:
        return self.relay(name, args, kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"`Store.{name}`, done by the run's StoreWriter."
    return method


for _name in RELAYED_WRITES:
    setattr(RelayStore, _name, _relayed(_name))


def session_folder(opened: Store) -> Path:
    """Where a local cluster keeps its session files: `ray` in the store's folder (./tony-results for PostgreSQL)."""
    if opened.is_sqlite:
        return Path(sa.engine.make_url(opened.url).database or "").absolute().parent / "ray"
    return opened.artifact_dir.absolute().parent / "ray"


@contextmanager
def _connected(address: str | None, cpus: int, folder: Path) -> Iterator[None]:
    """Connected to Ray for the body: the connection this process already has (left open), the cluster at
    `address`, or a local cluster started (and stopped) for the body."""
    import ray

    if ray.is_initialized():
        yield
        return
    if address is None:
        with local_cluster(cpus, folder):
            yield
        return
    try:
        ray.init(address=address, logging_level=logging.WARNING)
    except (ConnectionError, ValueError, RuntimeError) as err:
        raise SpecError(f"cannot join the Ray cluster at {address} ({_first_line(err)}): check `ray status` "
                        "on its head node and give the address it prints (HOST:PORT)") from None
    try:
        yield
    finally:
        ray.shutdown()


@contextmanager
def local_cluster(cpus: int, folder: Path) -> Iterator[str]:
    """A Ray cluster of `cpus` CPUs on this machine for the body, this process its driver; yields its address.

    Bound to 127.0.0.1, dashboard off, a fresh token, session files under `folder`; the workers see this
    process's import path and environment. Shut down at the end, whatever happens in the body."""
    global _started_here
    import ray
    import ray._private.ray_constants as ray_constants

    saved = {name: os.environ.get(name) for name in (LOOPBACK_SETTING, "RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    saved_constant = ray_constants.ENABLE_RAY_CLUSTER
    # With no mode set, Ray turns token authentication on for a new local cluster (and reloads its own settings);
    # the token it finds in the environment is never written to ~/.ray, as one it made would be.
    os.environ.pop("RAY_AUTH_MODE", None)
    os.environ.update({LOOPBACK_SETTING: "0", "RAY_AUTH_TOKEN": _token()})
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        folder.mkdir(parents=True, exist_ok=True)
        import_path = os.pathsep.join(str(Path(p).absolute()) for p in sys.path if p)
        try:
            with _quiet("ray._private.authentication.authentication_token_setup"):  # its note on token auth
                ray.init(address="local", num_cpus=cpus, include_dashboard=False, _temp_dir=str(folder),
                         logging_level=logging.WARNING, runtime_env={"env_vars": {"PYTHONPATH": import_path}})
        except OSError as err:  # e.g. a folder so deep that Ray's socket paths pass 107 bytes
            raise StoreError(f"cannot start a local Ray cluster in {folder}: {_first_line(err)}; give --store a "
                             "folder with a shorter path") from None
        _started_here = ray.get_runtime_context().gcs_address
        try:
            yield _started_here
        finally:
            _started_here = None
            ray.shutdown()
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved_constant
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@functools.cache
def _token() -> str:
    """The token of the local clusters this process starts: one per process, as Ray's driver keeps the first it
    reads."""
    return secrets.token_hex(32)


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _absolute(url: str) -> str:
    """A SQLite URL with an absolute path (a worker may start elsewhere); any other URL as it is."""
    parsed = sa.engine.make_url(url)
    if not url.startswith("sqlite") or not parsed.database:
        return url
    return parsed.set(database=str(Path(parsed.database).absolute())).render_as_string(hide_password=False)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
