"""The runner with a small domain-free task: batches, resume, reuse and failure isolation."""

from __future__ import annotations

from typing import Any

from tony.core.runner import execute
from tony.core.spec import Spec
from tony.core.stats import Stat, mean_stat
from tony.core.store import Store


class SquaresSpec(Spec):
    count: int
    fail_at: int | None = None


class SquaresTask:
    """Item i's record holds i squared; fails at `fail_at` (once) to simulate a crash."""

    kind = "test"

    def __init__(self, spec: SquaresSpec, processed: list[str]) -> None:
        self.spec = spec
        self.processed = processed

    def labels(self) -> dict[str, Any]:
        return {"scenario": "squares"}

    def items(self) -> list[str]:
        return [f"item{i:03d}" for i in range(self.spec.count)]

    def process(self, item_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
        for item in item_ids:
            if self.spec.fail_at is not None and item == f"item{self.spec.fail_at:03d}":
                raise RuntimeError("simulated crash")
        self.processed += item_ids
        return [(i, {"value": int(i[4:]) ** 2}) for i in item_ids]

    def aggregate(self, records: list[dict[str, Any]]) -> list[Stat]:
        return [mean_stat("mean_square", [r["value"] for r in records])]

    def close(self) -> None:
        pass


def test_run_stores_every_record_once_and_its_stats(tmp_path):
    store = Store(str(tmp_path))
    processed: list[str] = []
    result = execute(SquaresTask(SquaresSpec(count=20), processed), store, batch_size=3)
    assert result.status == "complete"
    assert store.count_records(result.run_id) == 20
    expected = sum(i * i for i in range(20)) / 20
    assert result.stats[0].value == expected and result.stats[0].n == 20


def test_failed_run_keeps_its_records_and_resumes_where_it_stopped(tmp_path):
    store = Store(str(tmp_path))
    crashing = SquaresTask(SquaresSpec(count=20, fail_at=10), [])
    first = execute(crashing, store, batch_size=4)
    assert first.status == "failed" and "simulated crash" in first.error
    assert store.count_records(first.run_id) == 8  # two whole batches committed before the crash
    processed: list[str] = []
    # The same spec (so the same run id), but this time the crash does not happen.
    resumed = _without_failure(SquaresTask(SquaresSpec(count=20, fail_at=10), processed))
    again = execute(resumed, store, batch_size=4)
    assert again.run_id == first.run_id and again.status == "complete"
    assert processed == [f"item{i:03d}" for i in range(8, 20)]
    assert store.count_records(first.run_id) == 20
    uninterrupted = execute(SquaresTask(SquaresSpec(count=20), []), Store(str(tmp_path / "other")), batch_size=4)
    assert again.stats == uninterrupted.stats


def _without_failure(task: SquaresTask) -> SquaresTask:
    original = task.process

    def process(item_ids):
        saved, task.spec = task.spec, task.spec.model_copy(update={"fail_at": None})
        try:
            return original(item_ids)
        finally:
            task.spec = saved

    task.process = process
    return task


def test_complete_run_is_not_run_again(tmp_path):
    store = Store(str(tmp_path))
    execute(SquaresTask(SquaresSpec(count=5), []), store)
    processed: list[str] = []
    again = execute(SquaresTask(SquaresSpec(count=5), processed), store)
    assert again.reused and processed == [] and again.stats[0].value == 6.0
