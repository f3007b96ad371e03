"""The `ray` executor against `local`, and the numbers behind the 100-node design note (benchmarks/README.md).

Parts (all by default, one after the other on this machine):

- speedup: an LM suite of 8 of `make demo`'s runs (LM_SUITE, --lm-instances each) and a 6-seed PPO ablation on
  InvertedPendulum-v5 (--rl-steps per run), each run three ways as the `tony` command a user types, every one into
  a fresh store: 1 worker, `--workers 2`, and `--executor ray --workers 2` (its local cluster's start and stop
  included). Wall seconds of the whole command; the load average beside each.
- overhead: --empty runs of one item and an empty record each through `run_specs`: local with 1 and 2 workers (the
  pool's start included, as every call pays it), ray on a SQLite store (every write through the writer actor) and
  on a PostgreSQL one (workers write), on a cluster started beforehand and warmed by 4 runs (its start and stop
  timed apart); and Ray's own empty task round trip. Per run: ms.
- store: the write pattern of one batch of the runner (claim 8 items, store their records of ~1 KB, release) per
  second from 1 and 2 processes, on SQLite direct, SQLite through the writer actor and PostgreSQL; request cache
  reads of 64 keys and writes of 8; and the load time of each embedded model.

PostgreSQL comes from a throwaway cluster (tests/conftest.py's, on 127.0.0.1).

    nice -n 10 .venv/bin/python benchmarks/ray_executor.py
    .venv/bin/python benchmarks/ray_executor.py --part overhead --empty 50

Writes benchmarks/results/ray_executor.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tony.core.runner import RunResult
from tony.core.spec import RunnableSpec
from tony.core.stats import Stat

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "ray_executor.json"
LM_SUITE = [f"{entry},model={model}" for model in ("gemma-3-270m", "smollm2-135m-instruct") for entry in (
    "synthetic_induction:method=generation,max_tokens=12", "openbookqa:method=multiple_choice_separate",
    f"jsonl:path={REPO / 'configs' / 'data' / 'world_capitals.jsonl'},method=multiple_choice_separate",
    "toxicity_prompts:max_tokens=20")]
"""Four of `make demo`'s runs (configs/demo.yaml) on both embedded models: its whole suite takes over an hour
three times over on this machine when it is loaded by others."""
RECORD = {"text": "x" * 900, "score": 1.0}
"""A record of about 1 KB, the size of a short LM record (prompt, completion, stats)."""


class EmptySpec(RunnableSpec):
    """A run of one item whose record is empty: what the executor costs beyond the work."""

    index: int
    """Which of the empty runs."""

    def task(self, store: Any) -> EmptyTask:
        return EmptyTask(self)


class EmptyTask:
    kind = "bench-empty"

    def __init__(self, spec: EmptySpec) -> None:
        self.spec = spec

    def labels(self) -> dict[str, Any]:
        return {"scenario": "empty", "model": str(self.spec.index)}

    def items(self) -> list[str]:
        return ["only"]

    def process(self, item_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
        return [(item, {}) for item in item_ids]

    def aggregate(self, records: list[dict[str, Any]]) -> list[Stat]:
        return []

    def close(self) -> None:
        pass


def timed_command(args: list[str], cwd: Path) -> dict[str, Any]:
    start, load = time.perf_counter(), os.getloadavg()[0]
    done = subprocess.run([sys.executable, "-m", "tony.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "TONY_PROGRESS": "0"})
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"tony {' '.join(args)} failed: {done.stderr[-2000:]}")
    return {"wall_s": round(wall, 1), "load_before": round(load, 1), "load_after": round(os.getloadavg()[0], 1)}


def speedup(lm_instances: int, rl_steps: int) -> dict[str, Any]:
    ways = {"1 worker": [], "--workers 2": ["--workers", "2"],
            "ray, 2 workers": ["--executor", "ray", "--workers", "2"]}
    commands = {
        "lm suite": ["run", *LM_SUITE, "--max-instances", str(lm_instances)],
        "rl 6-seed ablation": ["rl", "ablate", "--preset", "PPO", "--seeds", "6", "--env", "InvertedPendulum-v5",
                               "--steps", str(rl_steps)],
    }
    out: dict[str, Any] = {}
    for name, command in commands.items():
        for way, extra in ways.items():
            with tempfile.TemporaryDirectory(prefix="tony-bench-") as folder:
                out[f"{name}: {way}"] = row = timed_command([*command, "--store", f"{folder}/s", *extra], REPO)
                print(f"{name:<20} {way:<16} {row['wall_s']:>7.1f} s  (load {row['load_before']})", flush=True)
    return out


def overhead(empty: int, postgres_url: str) -> dict[str, Any]:
    import ray

    from tony.core.executor_ray import local_cluster
    from tony.core.executors import run_specs

    def per_run(store: str, **settings: Any) -> float:
        if settings.get("executor") == "ray":  # workers started (imports, the store opened) before the timing
            list(run_specs([EmptySpec(index=-i) for i in range(1, 5)], store, batch_size=1, **settings))
        specs = [EmptySpec(index=i) for i in range(empty)]
        start = time.perf_counter()
        results: list[RunResult] = list(run_specs(specs, store, batch_size=1, **settings))
        assert all(r.status == "complete" and not r.reused for r in results)
        return round(1000 * (time.perf_counter() - start) / empty, 1)

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tony-bench-") as folder:
        out["local, 1 worker"] = per_run(f"{folder}/local1")
        out["local, 2 workers"] = per_run(f"{folder}/local2", workers=2)
        start = time.perf_counter()
        with local_cluster(2, Path(folder) / "ray"):
            out["ray cluster start (s)"] = round(time.perf_counter() - start, 1)
            out["ray, sqlite (writer actor)"] = per_run(f"{folder}/ray", executor="ray", workers=2)
            out["ray, postgresql"] = per_run(postgres_url, executor="ray", workers=2)
            nothing = ray.remote(num_cpus=1)(lambda: None)
            ray.get([nothing.remote() for _ in range(20)])  # workers started
            start = time.perf_counter()
            ray.get([nothing.remote() for _ in range(empty)])
            out["ray empty task"] = round(1000 * (time.perf_counter() - start) / empty, 2)
            stop = time.perf_counter()
        out["ray cluster stop (s)"] = round(time.perf_counter() - stop, 1)
    for name, value in out.items():
        print(f"overhead  {name:<28} {value:>8} {'s' if '(s)' in name else 'ms per run'}", flush=True)
    return out


def batch_cycles(store: Any, seconds: float, run_id: str) -> float:
    """Runner batches (claim 8, store 8 records, release) per second against `store` for `seconds`."""
    from tony.core.store_leases import new_owner

    owner, done, start = new_owner(), 0, time.perf_counter()
    store.begin_run(run_id, "bench", {}, {})
    while time.perf_counter() - start < seconds:
        batch = [f"{run_id}-{done}-{i}" for i in range(8)]
        claimed, _ = store.claim_items(run_id, owner, batch)
        store.add_records(run_id, [(item, RECORD) for item in claimed])
        store.release_leases(run_id, owner)
        done += 1
    return done / (time.perf_counter() - start)


def cycles_on_worker(url: str, writer: Any, seconds: float) -> float:
    from tony.core.executor_ray import RelayStore
    from tony.core.store import Store

    store = RelayStore(url, writer) if writer is not None else Store(url, create=False)
    return batch_cycles(store, seconds, uuid.uuid4().hex)


def store_rates(folder: Path, postgres_url: str, seconds: float) -> dict[str, Any]:
    import ray

    from tony.core.executor_ray import StoreWriter, local_cluster
    from tony.core.store import Store

    sqlite_url = f"sqlite:///{folder / 'rates' / 'tony.sqlite'}"
    out: dict[str, Any] = {"sqlite, 1 process": batch_cycles(Store(sqlite_url), seconds, "direct")}
    Store(postgres_url)
    with local_cluster(2, folder / "ray"):
        on_worker = ray.remote(num_cpus=1)(cycles_on_worker)
        writer = ray.remote(StoreWriter).options(num_cpus=0).remote(sqlite_url)
        for processes in (1, 2):
            out[f"sqlite via writer actor, {processes} process(es)"] = sum(ray.get(
                [on_worker.remote(sqlite_url, writer, seconds) for _ in range(processes)]))
            out[f"postgresql, {processes} process(es)"] = sum(ray.get(
                [on_worker.remote(postgres_url, None, seconds) for _ in range(processes)]))
    for url, backend in ((sqlite_url, "sqlite"), (postgres_url, "postgresql")):
        store = Store(url)
        entries = {uuid.uuid4().hex: RECORD for _ in range(4096)}
        start = time.perf_counter()
        keys = list(entries)
        for begin in range(0, len(keys), 8):
            store.cache_put_many("bench", {k: entries[k] for k in keys[begin:begin + 8]})
        out[f"{backend} cache writes of 8 per s"] = len(keys) / 8 / (time.perf_counter() - start)
        start = time.perf_counter()
        for begin in range(0, len(keys), 64):
            store.cache_get_many(keys[begin:begin + 64])
        out[f"{backend} cache reads of 64 per s"] = len(keys) / 64 / (time.perf_counter() - start)
    out = {name: round(value, 1) for name, value in out.items()}
    out.update(model_loads())
    for name, value in out.items():
        print(f"store     {name:<44} {value:>8}", flush=True)
    return out


def model_loads() -> dict[str, float]:
    from tony.lm.api import plan

    out = {}
    for model in ("gemma-3-270m", "smollm2-135m-instruct"):
        source = plan([f"synthetic_induction:model={model}"])[0].build_model()
        start = time.perf_counter()
        source.load().close()
        out[f"load {model} (s)"] = round(time.perf_counter() - start, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["speedup", "overhead", "store", "all"], default="all")
    parser.add_argument("--lm-instances", type=int, default=8, help="instances per run of the LM suite")
    parser.add_argument("--rl-steps", type=int, default=4096, help="environment steps per RL run")
    parser.add_argument("--empty", type=int, default=100, help="empty runs for the overhead")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per store write-rate measurement")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import PostgresCluster, _server_binaries

    binaries = _server_binaries()
    if binaries is None:
        raise SystemExit("needs the PostgreSQL server binaries (apt-get install postgresql)")
    postgres = PostgresCluster(*binaries)
    postgres.start()
    results: dict[str, Any] = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
                               "load_average_at_start": list(os.getloadavg()), "args": vars(args)}
    try:
        if args.part in ("overhead", "all"):
            results["overhead_ms_per_run"] = overhead(args.empty, postgres.url(postgres.create_database()))
        if args.part in ("store", "all"):
            with tempfile.TemporaryDirectory(prefix="tony-bench-") as folder:
                results["store"] = store_rates(Path(folder), postgres.url(postgres.create_database()), args.seconds)
        if args.part in ("speedup", "all"):
            results["speedup_wall_s"] = speedup(args.lm_instances, args.rl_steps)
    finally:
        postgres.stop()
    results["load_average_at_end"] = list(os.getloadavg())
    RESULTS.parent.mkdir(exist_ok=True)
    kept = json.loads(RESULTS.read_text()) if RESULTS.exists() and args.part != "all" else {}
    RESULTS.write_text(json.dumps({**kept, **results}, indent=1))  # one part run again replaces only its own
    print(f"-> {RESULTS}")


if __name__ == "__main__":
    # Run as the module `ray_executor`, not as __main__, so Ray's and the pool's workers import EmptySpec and
    # cycles_on_worker by name (benchmarks/ is on their path) instead of unpickling classes of __main__.
    from ray_executor import main as main_of_module

    main_of_module()
