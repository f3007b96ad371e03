"""The language-model study from Python; `tony run`, `tony records` and `tony compare` are thin layers over it.

    from tony import api                  # tony.api runs specs of any domain
    from tony.lm import api as lm
    specs = lm.plan(["truthfulqa:variant=mc1"], max_instances=50)
    for result in api.run(specs):
        print(result.run_id, result.status)
    rows = list(lm.records(run_ids=[specs[0].key()]))

`tony.api` (and `tony`) re-export `plan`, `records` and `compare`, as before they moved here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from tony.core.errors import SpecError
from tony.core.store import Store

if TYPE_CHECKING:
    from tony.lm.run import LMRunSpec


def plan(entries: list[str], *, on_missing_data: Callable[[str, Exception], None] | None = None,
         **overrides: Any) -> list[LMRunSpec]:
    """Specs from run entries and suite files; overrides (max_instances, seed, model, ...) apply to all.

    With `on_missing_data`, entries whose data is not installed are told to it and left out instead of raising.
    """
    from tony.lm.suite import specs_from_arguments

    return specs_from_arguments(entries, {k: v for k, v in overrides.items() if v is not None},
                                on_missing_data=on_missing_data)


def records(store: str | None = None, run_ids: list[str] | None = None, *, batch: int = 500) -> Iterator[dict]:
    """Every stored record of the language-model runs (those whose id starts with one of `run_ids`; all when
    None), one flat row each: run, scenario, model, method, instance_id, draw, split, subgroup, perturbation
    (None for the original), prompt, prediction, correct, stats, extra (see tony.lm.export).

    The store and run ids are checked here, before the first row; the rows then stream from the store
    `batch` records at a time, so memory does not grow with the number of records. A store that does not
    exist is a StoreError and is not created.
    """
    from tony.lm.export import KIND, export_row

    opened = Store(store, create=False)
    if run_ids:
        runs = [opened.find_run(prefix) for prefix in run_ids]
        for run in runs:
            if run["kind"] != KIND:
                raise SpecError(f"run {run['run_id'][:12]} is of kind '{run['kind']}': `tony records` exports "
                                "language-model runs (see `tony results`)")
    else:
        runs = opened.runs(kind=KIND)
    by_id = {run["run_id"]: run for run in runs}
    return (export_row(by_id[record.run_id], record) for record in opened.iter_records(list(by_id), batch=batch))


def compare(run_a: str, run_b: str, store: str | None = None, *, metrics: list[str] | None = None) -> dict[
    str, list
]:
    """Run A against run B, every metric family: {"paired": [PairedComparison], "unpaired": [StatComparison]}.

    Per-instance metrics are paired over the instances both runs share (paired bootstrap; McNemar
    for 0/1 metrics); whole-run stats (calibration, bias, toxicity, ...) are set side by side with
    their intervals. ``metrics`` limits the paired part to those names.
    """
    from tony.lm.compare import compare_records, compare_stats
    from tony.lm.record import run_records

    opened = Store(store, create=False)
    a, b = opened.find_run(run_a), opened.find_run(run_b)
    paired = compare_records(run_records(opened, a["run_id"]), run_records(opened, b["run_id"]), metrics)
    if not paired:
        raise SpecError(f"runs {run_a} and {run_b} share no instances or metrics: compare runs of the same "
                        "scenario and seed (and check --metric against `tony results`)")
    unpaired = [] if metrics else compare_stats(
        opened.stats([a["run_id"]]), opened.stats([b["run_id"]]), skip={c.metric for c in paired}
    )
    return {"paired": paired, "unpaired": unpaired}
