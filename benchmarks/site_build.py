"""`tony report` on a store of 100 runs and 100,000 instance records: targets under 10 s, and a
leaderboard page under 1 MB.

Fills a store (once; kept under benchmarks/.work) through the Store API with 10 models x 10 scenarios:
five multiple-choice scenarios with 5-shot prompts, five generation scenarios with 3-shot prompts, two of
each with robustness and fairness variants (800 originals + 200 variants), every payload shaped as
tony.lm.run writes it and every stat computed by tony.lm.metrics.aggregate.lm_stats. Then times whole
`tony report` commands (best and median of 3, with a process per CPU and with --workers 1) and measures
the pages.

    .venv/bin/python benchmarks/site_build.py [--fresh] [--baseline-src DIR]

With `--baseline-src DIR` (the src/ folder of another checkout, e.g. a `git worktree` of an older commit) the same
`tony report` commands also run on that code, taking turns with this one's, to show what a change did.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tony.core.store import Store
from tony.lm.metrics.aggregate import lm_stats
from tony.lm.record import LMRecord

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"
STORE = WORK / "site-build-store"
SITE = WORK / "site-build-site"
RESULTS = ROOT / "benchmarks" / "results" / "site_build.json"
MODELS = [f"model-{i}" for i in range(10)]
SCENARIOS = [(f"mc-{i}", True) for i in range(5)] + [(f"gen-{i}", False) for i in range(5)]
RECORDS_PER_RUN = 1000
PERTURBED = {"mc-0", "gen-0"}
WORDS = ("capital", "river", "mountain", "country", "largest", "oldest", "city", "ocean", "desert", "island",
         "language", "currency", "border", "population", "north", "south", "east", "west", "lake", "forest")
VARIANTS = ({"name": "typos", "label": "typos", "family": "robustness"},
            {"name": "gender", "label": "gender=female", "family": "fairness"})


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize()


def payload(rng: random.Random, instance_id: str, multiple_choice: bool, skill: float,
            perturbation: dict[str, str] | None) -> dict[str, Any]:
    correct = rng.random() < skill - (0.1 if perturbation else 0.0)
    if multiple_choice:
        options = [sentence(rng, 2) for _ in range(4)]
        shots = "".join(f"Q: {sentence(rng, 14)}?\nA. {sentence(rng, 2)}\nB. {sentence(rng, 2)}\nC. "
                        f"{sentence(rng, 2)}\nD. {sentence(rng, 2)}\nAnswer: B\n\n" for _ in range(5))
        question = f"Q: {sentence(rng, 14)}?\n" + "".join(f"{'ABCD'[i]}. {o}\n" for i, o in enumerate(options))
        logprobs = [-rng.uniform(0.2, 3.0) for _ in options]
        best = max(range(4), key=logprobs.__getitem__)
        probability = math.exp(logprobs[best]) / sum(math.exp(x) for x in logprobs)
        request = {"prompt": shots + question + "Answer:", "max_tokens": 0, "temperature": 0.0, "stop": [],
                   "continuations": [" A", " B", " C", " D"], "shared_prefix": shots}
        completion = {"text": "", "tokens": [], "logprobs": [], "continuation_logprobs": logprobs,
                      "continuation_lengths": [1, 1, 1, 1]}
        references = [{"output": o, "tags": ["correct"] if i == (best if correct else (best + 1) % 4) else []}
                      for i, o in enumerate(options)]
        prediction, stats, confidence = options[best], {"accuracy": float(correct)}, probability
        details = {"options": options, "scores": logprobs}
    else:
        shots = "Each line applies the same hidden rule.\n" + "".join(
            f"{sentence(rng, 4)} -> {sentence(rng, 4)}\n" for _ in range(3))
        answer = sentence(rng, 4)
        text = answer if correct else sentence(rng, 4)
        tokens = text.split()
        request = {"prompt": shots + f"{sentence(rng, 4)} ->", "max_tokens": 16, "temperature": 0.0,
                   "stop": ["\n"], "continuations": [], "shared_prefix": shots}
        completion = {"text": " " + text, "tokens": tokens, "logprobs": [-rng.uniform(0, 2) for _ in tokens],
                      "continuation_logprobs": [], "continuation_lengths": []}
        references = [{"output": answer, "tags": ["correct"]}]
        prediction, confidence, details = text, None, {}
        stats = {"exact_match": float(correct), "quasi_exact_match": float(correct), "f1": 1.0 if correct else 0.25}
    completion.update(prompt_tokens=len(request["prompt"]) // 4, completion_tokens=4,
                      processed_tokens=len(request["prompt"]) // 4 + 4, wall_s=rng.uniform(0.05, 0.5), cached=False)
    return {"instance": {"id": instance_id, "input": request["prompt"][len(shots):], "references": references,
                         "split": "test", "subgroup": f"group-{rng.randrange(4)}", "extra": {}},
            "draw": 0, "perturbation": perturbation, "examples": [f"train-{i}" for i in range(5)],
            "exchanges": [{"request": request, "completion": completion}], "prediction": prediction,
            "confidence": confidence, "correct": correct, "stats": stats, "details": details}


def fill(store: Store) -> None:
    for m, model in enumerate(MODELS):
        for scenario, multiple_choice in SCENARIOS:
            rng = random.Random(f"{model}/{scenario}")
            originals = RECORDS_PER_RUN - (200 if scenario in PERTURBED else 0)
            records = [(f"0:{scenario}-{i}", payload(rng, f"{scenario}-{i}", multiple_choice, 0.3 + 0.05 * m, None))
                       for i in range(originals)]
            if scenario in PERTURBED:
                records += [(f"0:{scenario}-{i}#{v['label']}", payload(rng, f"{scenario}-{i}", multiple_choice,
                                                                       0.3 + 0.05 * m, v))
                            for v in VARIANTS for i in range(100)]
            method = "multiple_choice_joint,5-shot" if multiple_choice else "generation,3-shot"
            run_id = hashlib.sha256(f"{model}/{scenario}".encode()).hexdigest()
            store.begin_run(run_id, "lm", {"scenario": scenario, "model": model, "method": method},
                            {"scenario": scenario, "model": model, "method": method})
            for start in range(0, len(records), 500):
                store.add_records(run_id, records[start : start + 500])
            payloads = [p for _, p in records]
            stats = lm_stats([LMRecord.from_json(p) for p in payloads], multiple_choice=multiple_choice)
            store.finish_run(run_id, stats, wall_s=100.0)
        print(f"filled {model}", file=sys.stderr)


def timed_report(*extra: str, src: Path | None = None) -> float:
    env = {**os.environ, "PYTHONPATH": str(src.resolve())} if src else None
    start = time.perf_counter()
    subprocess.run([str(ROOT / ".venv" / "bin" / "tony"), "report", "--store", str(STORE), "--out", str(SITE),
                    *extra], check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    if "--fresh" in sys.argv:
        shutil.rmtree(STORE, ignore_errors=True)
    store = Store(str(STORE))
    if len(store.runs(status="complete")) != len(MODELS) * len(SCENARIOS):
        shutil.rmtree(STORE, ignore_errors=True)
        store = Store(str(STORE))
        fill(store)
    records = sum(store.count_records(r["run_id"]) for r in store.runs())
    sample = store.records(store.runs()[0]["run_id"], limit=200)
    baseline_src = Path(sys.argv[sys.argv.index("--baseline-src") + 1]) if "--baseline-src" in sys.argv else None
    parallel, single, baseline_parallel, baseline_single = [], [], [], []
    for _ in range(3):  # the baseline's code and this one take turns, so both see the same machine
        if baseline_src:
            baseline_parallel.append(timed_report(src=baseline_src))
            baseline_single.append(timed_report("--workers", "1", src=baseline_src))
        single.append(timed_report("--workers", "1"))
        parallel.append(timed_report())  # last, so the pages measured below are this code's
    pages = list(SITE.rglob("*.html"))
    drill = [p.stat().st_size for p in pages if "-p" in p.name]
    run_pages = [p.stat().st_size for p in pages if p.name.startswith("run-") and "-p" not in p.name]
    result = {
        "runs": len(store.runs()), "records": records, "cpus": os.cpu_count(),
        "mean_payload_bytes": round(statistics.mean(len(json.dumps(r)) for r in sample)),
        "report_s_best": min(parallel), "report_s_median": statistics.median(parallel),
        "report_workers_1_s_best": min(single), "report_workers_1_s_median": statistics.median(single),
        **({"baseline_report_s_best": min(baseline_parallel), "baseline_report_workers_1_s_best": min(baseline_single)}
           if baseline_src else {}),
        "leaderboard_bytes": (SITE / "lm" / "index.html").stat().st_size,
        "largest_run_page_bytes": max(run_pages),
        "drill_down_pages": len(drill), "drill_down_page_bytes_mean": round(statistics.mean(drill)),
        "site_files": sum(1 for p in SITE.rglob("*") if p.is_file()),
        "site_bytes": sum(p.stat().st_size for p in SITE.rglob("*") if p.is_file()),
    }
    print(json.dumps(result, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
