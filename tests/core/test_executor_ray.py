"""The `ray` executor on a real local Ray cluster (2 CPUs, 127.0.0.1), one for the whole module, with SQLite and
with PostgreSQL from the throwaway cluster: the same stats as `local` for an LM suite, an RL ablation and a BREEDS
study; a worker killed with kill -9; a driver killed mid-suite; the SQLite-with-a-joined-cluster error of every
command that takes --executor."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from ray_count import RayCountSpec
from ray_driver import specs as driver_specs

from tony.cli import main
from tony.core.executors import run_specs
from tony.core.spec import RunnableSpec
from tony.core.stats import Stat
from tony.core.store import Store
from tony.core.store_schema import leases_table

REPO = Path(__file__).resolve().parents[2]
TIMING_METRICS = {"tokens_per_second", "wall_s_per_instance", "wall_s_per_request"}
"""Stats that measure time, so differ between any two runs; every other stat must be equal to the bit."""


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A local cluster of 2 CPUs for the module (the same one `--executor ray` starts), shut down at its end."""
    pytest.importorskip("ray")
    from tony.core.executor_ray import local_cluster

    folder = Path(tempfile.mkdtemp(prefix="tony-ray-"))  # short: Ray's socket paths must stay under 108 bytes
    try:
        with local_cluster(2, folder / "ray") as address:
            yield address
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_cluster) -> Iterator[str]:
    database = postgres_cluster.create_database()
    yield postgres_cluster.url(database)
    postgres_cluster.drop_database(database)


def stored_stats(store: str, specs: list[RunnableSpec]) -> list[str]:
    """Every stored stat of the specs' runs but the timings, as canonical text (NaN compares equal to itself)."""
    opened = Store(store)
    try:
        rows = opened.stats([s.key() for s in specs])
    finally:
        opened.close()
    stats = [(row["run_id"], Stat.from_row(row)) for row in rows]
    return sorted(json.dumps([run_id, dataclasses.asdict(s)], sort_keys=True) for run_id, s in stats
                  if s.metric not in TIMING_METRICS)


def assert_same_results(specs: list[RunnableSpec], local_store: str, ray_store: str, **settings) -> None:
    local = list(run_specs(specs, local_store, **settings))
    on_ray = list(run_specs(specs, ray_store, executor="ray", workers=2, **settings))
    assert [r.status for r in local] == [r.status for r in on_ray] == ["complete"] * len(specs)
    assert [r.run_id for r in on_ray] == [r.run_id for r in local] == [s.key() for s in specs]
    local_stats = stored_stats(local_store, specs)
    assert len(local_stats) > 3 * len(specs) and stored_stats(ray_store, specs) == local_stats


def lease_rows(store: Store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(leases_table)).scalar_one()


def items(begin: int, end: int) -> list[str]:
    return [f"item-{i:04d}" for i in range(begin, end)]


@pytest.mark.slow
def test_a_local_cluster_listens_on_127_0_0_1_only(ray_cluster: str) -> None:
    import psutil

    assert ray_cluster.startswith("127.0.0.1:")
    listening = [conn.laddr.ip for child in psutil.Process().children(recursive=True)
                 for conn in child.net_connections(kind="inet") if conn.status == psutil.CONN_LISTEN]
    assert listening and set(listening) <= {"127.0.0.1", "::ffff:127.0.0.1"}, listening


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_retried_and_the_run_resumes_from_its_records(ray_cluster: str, store_url: str,
                                                                                  tmp_path: Path) -> None:
    killed = RayCountSpec(n=12, log=str(tmp_path / "killed.log"), kill_marker=str(tmp_path / "marker"))
    broken = RayCountSpec(n=3, log=str(tmp_path / "broken.log"), broken=True)
    calm = RayCountSpec(n=6, log=str(tmp_path / "calm.log"))
    results = list(run_specs([killed, broken, calm], store_url, executor="ray", workers=2, batch_size=4))
    assert [r.status for r in results] == ["complete", "failed", "complete"]
    assert results[1].error == "broken on purpose"  # its own failure, reported; the others went on
    assert (tmp_path / "marker").exists()  # the first process did kill itself, at its second batch
    computed = [line.split() for line in (tmp_path / "killed.log").read_text().splitlines()]
    first_pid = computed[0][1]
    # The killed process stored its first batch; Ray's retry, another process, computed every other item once.
    assert [item for item, pid in computed if pid == first_pid] == items(0, 4)
    assert [item for item, pid in computed if pid != first_pid] == items(4, 12)
    store = Store(store_url)
    try:
        records = store.records(killed.key())
        assert sorted(r["item_id"] for r in records) == items(0, 12)
        assert {r["pid"] for r in records if r["item_id"] in items(0, 4)} == {int(first_pid)}
        (mean,) = results[0].stats
        assert (mean.value, mean.n) == (sum(i * i for i in range(12)) / 12, 12)
        assert store.run(killed.key())["status"] == "complete" and lease_rows(store) == 0
    finally:
        store.close()


@pytest.mark.slow
def test_a_driver_killed_mid_suite_is_resumed_by_the_next(ray_cluster: str, postgres_url: str,
                                                          tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path]),
           "TONY_PROGRESS": "0"}
    command = [sys.executable, str(Path(__file__).with_name("ray_driver.py")), postgres_url, ray_cluster,
               str(tmp_path)]
    specs = driver_specs(tmp_path)
    store = Store(postgres_url)
    try:
        first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and first.poll() is None and not (
                store.run(specs[0].key()) and store.count_records(specs[0].key()) >= 2):
            time.sleep(0.1)
        first.kill()
        assert first.wait(timeout=60) == -9, first.stderr.read() if first.stderr else ""
        time.sleep(2)  # Ray ends the dead driver's tasks; a batch one was still computing may still be stored
        stored_before = {s.key(): {r["item_id"] for r in store.records(s.key())} for s in specs}
        assert 2 <= sum(map(len, stored_before.values())) < 24  # killed mid-suite
        logged_before = {s.key(): Path(s.log).read_text().count("\n") if Path(s.log).exists() else 0 for s in specs}
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr
        for spec in specs:
            assert sorted(r["item_id"] for r in store.records(spec.key())) == items(0, 8)  # each stored once
            assert store.run(spec.key())["status"] == "complete"
            computed_after = [line.split()[0] for line in Path(spec.log).read_text().splitlines()
                              ][logged_before[spec.key()]:]
            assert not set(computed_after) & stored_before[spec.key()]  # what was stored was not computed again
    finally:
        store.close()


@pytest.mark.slow
def test_an_lm_suite_gives_the_same_stats_locally_and_on_ray(ray_cluster: str, tmp_path: Path) -> None:
    from tony.lm.api import plan

    capitals = REPO / "configs" / "data" / "world_capitals.jsonl"
    specs = plan(["synthetic_induction:method=generation,max_tokens=4",
                  f"jsonl:path={capitals},method=multiple_choice_separate"], max_instances=3, seed=0)
    assert_same_results(specs, str(tmp_path / "local"), str(tmp_path / "ray"), batch_size=2)  # SQLite: one writer


@pytest.mark.slow
def test_an_rl_ablation_gives_the_same_stats_locally_and_on_ray(ray_cluster: str, postgres_url: str,
                                                                tmp_path: Path) -> None:
    pytest.importorskip("mujoco")
    from tony.rl import api

    tiny = {"steps_per_iteration": 128, "minibatches": 2, "epochs": 2, "hidden": (8, 8), "total_steps": 256}
    specs = [api.make_spec("PPO", env="InvertedPendulum-v5", seed=seed, **tiny) for seed in (0, 1)]
    assert_same_results(specs, str(tmp_path / "local"), postgres_url, batch_size=1)


@pytest.mark.slow
def test_a_breeds_study_gives_the_same_stats_locally_and_on_ray(ray_cluster: str, tmp_path: Path) -> None:
    from tony.vision.breeds.study import BreedsStudySpec, run_study

    spec = BreedsStudySpec.parse({"data": {"world": {"size": 16}, "images_per_class": 8},
                                  "train": {"model": "resnet8", "width": 4, "epochs": 1}})
    local, on_ray = str(tmp_path / "local"), str(tmp_path / "ray")
    assert run_study(spec, local).status == "complete"
    assert run_study(spec, on_ray, executor="ray", workers=2).status == "complete"
    assert stored_stats(on_ray, [spec]) == stored_stats(local, [spec])


@pytest.mark.parametrize("command", [
    ["run", "synthetic_induction:max_instances=2"],
    ["rl", "ablate", "--preset", "PPO", "--seeds", "1", "--env", "InvertedPendulum-v5"],
    ["icl", "eval", "cpu-linear"],
    ["breeds", "run", "--image-size", "16", "--images-per-class", "8", "--width", "4", "--epochs", "1"],
])
def test_a_sqlite_store_with_a_joined_cluster_is_a_one_line_error(command: list[str], tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    code = main([*command, "--store", str(store), "--executor", "ray", "--ray-address", "127.0.0.1:1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "cannot share the SQLite store" in err and "--store postgresql://" in err
    assert not (store / "artifacts").exists()  # refused before anything was trained or run


def test_an_address_without_the_ray_executor_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "synthetic_induction", "--ray-address", "127.0.0.1:1"]) == 2
    assert "give it with --executor ray" in capsys.readouterr().err
