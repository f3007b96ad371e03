"""What the robustness and fairness suites cost next to the plain suite, and whether the cache and
the shared prompt prefix still save work under perturbation.

Three `tony run` commands on the embedded model, each timed whole (start-up included):
  plain      the suite as it is, in a fresh store;
  perturbed  the same runs with every robustness and fairness perturbation (`robustness+fairness`,
             11 variants per instance), in a fresh store (nothing cached);
  after      the perturbed suite again, in the plain run's store: its unperturbed items, and every
             variant whose text the perturbation left unchanged, come from the request cache.
From the stored records it also counts the model's work in each (requests, cache hits, tokens
processed), which does not depend on what else the machine is doing, and, over the perturbed
variants, the tokens processed against the tokens of the prompts sent: below 1 means the shared
prefix (instructions and few-shot examples, never perturbed) was decoded once and reused.

    .venv/bin/python benchmarks/perturbation_cost.py [--instances 40]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "perturbation-cost"
RESULTS = ROOT / "benchmarks" / "results" / "perturbation_cost.json"
RUNS = [
    "bigbench:task=truthful_qa,method=multiple_choice_separate",
    "bigbench:task=strategyqa,method=multiple_choice_separate,num_train=3",
]
PERTURBATIONS = "perturbations=robustness+fairness"


def tony_run(entries: list[str], store: Path, instances: int) -> float:
    start = time.perf_counter()
    subprocess.run([str(ROOT / ".venv" / "bin" / "tony"), "run", *entries, "--max-instances", str(instances),
                    "--store", str(store)], check=True, capture_output=True, env={**os.environ, "TONY_PROGRESS": "0"})
    return time.perf_counter() - start


def model_work(store: Path) -> dict[str, int]:
    """What the model was asked in a store, from its records: requests, those answered from the cache,
    and the tokens it processed for the rest (variants' prompt tokens too, for the shared-prefix check)."""
    work = {"items": 0, "requests": 0, "cached": 0, "processed_tokens": 0,
            "variant_prompt_tokens": 0, "variant_processed_tokens": 0}
    with sqlite3.connect(store / "tony.sqlite") as conn:
        for (payload,) in conn.execute("select payload from records"):
            record = json.loads(payload)
            work["items"] += 1
            for exchange in record["exchanges"]:
                completion = exchange["completion"]
                work["requests"] += 1
                if completion["cached"]:
                    work["cached"] += 1
                    continue
                work["processed_tokens"] += completion["processed_tokens"]
                if record["perturbation"]:
                    work["variant_prompt_tokens"] += completion["prompt_tokens"]
                    work["variant_processed_tokens"] += completion["processed_tokens"]
    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=40)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    perturbed_entries = [f"{run},{PERTURBATIONS}" for run in RUNS]
    plain = tony_run(RUNS, WORK / "plain", args.instances)
    plain_work = model_work(WORK / "plain")
    perturbed = tony_run(perturbed_entries, WORK / "perturbed", args.instances)
    perturbed_work = model_work(WORK / "perturbed")
    after = tony_run(perturbed_entries, WORK / "plain", args.instances)
    after_work = {k: v - plain_work[k] for k, v in model_work(WORK / "plain").items()}
    result = {
        "instances_per_run": args.instances, "runs": RUNS,
        "plain": {"wall_s": plain, **plain_work}, "perturbed": {"wall_s": perturbed, **perturbed_work},
        "perturbed_after_plain": {"wall_s": after, **after_work},
        "wall_ratio": perturbed / plain,
        "token_ratio": perturbed_work["processed_tokens"] / plain_work["processed_tokens"],
        "variant_processed_over_prompt_tokens":
            perturbed_work["variant_processed_tokens"] / max(perturbed_work["variant_prompt_tokens"], 1),
    }
    print(json.dumps(result, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
