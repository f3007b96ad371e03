"""What the robustness and fairness suites cost next to the plain suite, and whether the cache and
the shared prompt prefix still save work under perturbation.

Three `tony run` commands on the embedded model, each timed whole (start-up included):
  plain      the suite as it is, in a fresh store;
  perturbed  the same runs with every robustness and fairness perturbation (`robustness+fairness`,
             11 variants per instance), in a fresh store (nothing cached);
  after      the perturbed suite again, in the plain run's store: its unperturbed items, and every
             variant whose text the perturbation left unchanged, come from the request cache.
From the stored records it also counts, over the perturbed variants of the few-shot run, the tokens
the model processed against the tokens of the prompts sent: below 1 means the few-shot prefix (which
is never perturbed) was decoded once and reused.

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


def token_counts(store: Path) -> dict[str, int]:
    """Prompt and processed tokens of the perturbed run's variants and originals, from the stored records."""
    counts = {"variant_prompt": 0, "variant_processed": 0, "original_processed": 0, "variants": 0, "originals": 0}
    with sqlite3.connect(store / "tony.sqlite") as conn:
        rows = conn.execute("select r.payload from records r join runs u on u.run_id = r.run_id "
                            "where u.spec like '%perturbations\": [{%' and u.spec like '%num_train\": 3%'")
        for (payload,) in rows:
            record = json.loads(payload)
            completions = [e["completion"] for e in record["exchanges"] if not e["completion"]["cached"]]
            kind = "variant" if record["perturbation"] else "original"
            counts[f"{kind}s"] += 1
            counts[f"{kind}_processed"] += sum(c["processed_tokens"] for c in completions)
            if kind == "variant":
                counts["variant_prompt"] += sum(c["prompt_tokens"] for c in completions)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=40)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    perturbed_entries = [f"{run},{PERTURBATIONS}" for run in RUNS]
    plain = tony_run(RUNS, WORK / "plain", args.instances)
    perturbed = tony_run(perturbed_entries, WORK / "perturbed", args.instances)
    after = tony_run(perturbed_entries, WORK / "plain", args.instances)
    tokens = token_counts(WORK / "perturbed")
    result = {
        "instances_per_run": args.instances, "runs": RUNS, "plain_s": plain, "perturbed_s": perturbed,
        "perturbed_after_plain_s": after, "perturbed_over_plain": perturbed / plain,
        "variant_processed_over_prompt_tokens": tokens["variant_processed"] / max(tokens["variant_prompt"], 1),
        "tokens": tokens,
    }
    print(json.dumps(result, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
