"""Writes tests/data/stores/v1/tony.sqlite: a small store as tony wrote it before stats had structured columns.

Run once, with the code of commit bdc4737 (the last before the stats table gained metric, family, variant,
at and direction columns) first on the path:

    git archive bdc4737 src tests configs | tar -x -C /tmp/tony-v1
    export PYTHONPATH=/tmp/tony-v1/src:/tmp/tony-v1/tests/annotations
    python tests/data/stores/make_v1_store.py OUT             # the runs
    python tests/data/stores/make_v1_store.py --expect OUT    # what that code's commands say of them
    python tests/data/stores/make_v1_store.py --compact OUT   # one file, once no process has it open

`--expect` writes expected.json beside it: what `tony results` (with and without --all), `tony compare`, the
leaderboard (each family tab's columns, win rates and cell sort values) and the metric families and directions
said of these runs at that commit, so tests/core/test_store_migrate.py can check the migrated store gives the same.

It holds language-model runs of two models on two scenarios (multiple choice with two few-shot draws and
robustness and fairness perturbations; generation with subgroups; toxicity prompts), a tiny in-context-learning
evaluation and a multi-label annotation study: every kind of stat name the migration has to read.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
CAPITALS = REPO / "configs" / "data" / "world_capitals.jsonl"
LM_ENTRIES = [
    f"jsonl:path={CAPITALS},method=multiple_choice_separate,max_instances=5,num_train=1,num_draws=2,max_perturbed=2",
    "synthetic_induction:num_instances=3,max_tokens=8",
]
PERTURBATIONS = [{"name": "lowercase"}, {"name": "gender", "target": "female"}, {"name": "gender", "target": "male"}]
"""For the multiple-choice runs: a robustness worst case, and a fairness gap between two targets."""
MODELS = ("gemma-3-270m", "smollm2-135m-instruct")
ICL_TRAIN = {"function_class": "linear", "dims": 3, "model_size": "tiny", "steps": 3, "batch_size": 4,
             "curriculum": {"dims_start": 3, "dims_end": 3, "points_start": 8, "points_end": 8}}


def main(out: Path) -> None:
    from tony import api
    from tony.core.runner import execute
    from tony.core.store import Store
    from tony.icl.study import ICLEvalSpec
    from tony.lm.run import LMRunSpec

    os.environ["TONY_PROGRESS"] = "0"
    url = f"sqlite:///{out / 'tony.sqlite'}"
    specs = [spec for model in MODELS for spec in api.plan(LM_ENTRIES, model=model)]
    specs = [LMRunSpec.parse({**s.model_dump(), "perturbations": PERTURBATIONS}) if s.max_perturbed else s
             for s in specs]
    specs += api.plan(["toxicity_prompts:num_instances=3,max_tokens=12"])
    for result in api.run(specs, url):
        assert result.status == "complete", result.error
    store = Store(url)
    icl = ICLEvalSpec.parse({"train": ICL_TRAIN, "n_prompts": 6, "baselines": ["least_squares"]})
    assert execute(icl.task(store), store).status == "complete"
    _multilabel(store.url)
    store.close()


def expect(out: Path) -> dict[str, Any]:
    """What the commands of this code say of the store in `out` (run after `main`, before `compact`)."""
    from dataclasses import asdict

    from tony import api
    from tony.cli import _is_headline
    from tony.core.store import Store
    from tony.lm.metrics.families import FAMILIES, family_of, lower_is_better, ranking_value
    from tony.lm.report.leaderboard import _cell, collect, metric_rank, win_rates

    url = f"sqlite:///{out / 'tony.sqlite'}"
    store = Store(url, create=False)
    runs = store.runs()
    lm_runs = [r for r in runs if r["kind"] == "lm"]
    every = api.results(url, everything=True)
    pairs = {}
    for method in ("multiple_choice_separate,1-shot", "generation"):
        a, b = [r["run_id"] for r in lm_runs if r["labels"]["method"] == method
                and not r["labels"]["scenario"].startswith("toxicity")]
        compared = api.compare(a, b, url)
        pairs[f"{a} {b}"] = {part: [{"family": family_of(c.metric), **asdict(c)} for c in rows]
                            for part, rows in compared.items()}
    grid = collect(lm_runs, store.stats([r["run_id"] for r in lm_runs]))
    tabs = {}
    for family in FAMILIES:
        keys = sorted({k for cells in grid.models.values() for k in cells if family_of(k[2]) == family},
                      key=lambda k: (k[0], k[1], metric_rank(k[2])))
        cells = {model: [re.search(r'data-v="([^"]*)"', _cell(row.get(k))).group(1) for k in keys]
                 for model, row in sorted(grid.models.items())}
        tabs[family] = {"keys": [list(k) for k in keys], "win_rates": win_rates(grid, keys), "cells": cells}
    lm_names = sorted({r["metric"] for r in every if r["run"] in {x["run_id"][:12] for x in lm_runs}})
    return {
        "results": api.results(url),
        "results_all": every,
        "headline": sorted({r["metric"] for r in every if not r["split"] and not r["subgroup"]
                            and _is_headline(r["metric"])}),
        "compare": pairs,
        "leaderboard": tabs,
        "names": {name: {"family": family_of(name), "lower_is_better": lower_is_better(name),
                         "ranking_value_of_0.3": ranking_value(name, 0.3)} for name in lm_names},
    }


def compact(database: Path) -> None:
    """One self-contained file (the WAL folded in, no -wal or -shm beside it), once no process has it open."""
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("VACUUM")
    conn.close()


def _multilabel(url: str) -> None:
    from multilabel_helpers import oracle_predictions, simulate, write_folder

    from tony.annotations.multilabel.api import analyze
    from tony.annotations.multilabel.predictions import write_predictions

    folder = Path(tempfile.mkdtemp())
    truth, rows = simulate(seed=7, images=30)
    data = write_folder(folder / "data", rows)
    model = write_predictions(folder / "main.jsonl", oracle_predictions(truth, {}, 1, main_rate=0.8, label_rate=0.1))
    analyze(data, {"main": model}, url)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--compact"]:
        compact(Path(sys.argv[2]) / "tony.sqlite")
    elif sys.argv[1:2] == ["--expect"]:
        found = expect(Path(sys.argv[2]))
        (Path(sys.argv[2]) / "expected.json").write_text(json.dumps(found, sort_keys=True) + "\n")
    else:
        main(Path(sys.argv[1]))
