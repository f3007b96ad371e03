"""The three safety scenarios on both embedded models, plain and under every jailbreak: wall time and results.

Claim: tony runs XSTest, StrongREJECT and HarmBench (standard and contextual behaviors) on the chat model
SmolLM2-135M-Instruct and on Gemma 3 270M base (a reference point: a base model has no refusal training), with
each of the seven jailbreaks on the forbidden prompts, and gives every number with its 95% bootstrap interval.
Sized for 2 CPU cores: a seeded subset of each scenario (`--instances`), every jailbreak on a seeded subset of
those (`--perturbed`), `--max-tokens` of generation; the offline rules grader labels every completion.

Reported per model and scenario: not_overrefuse (XSTest's safe prompts), not_unsafe, refusal_rate and
partial_refusal_rate on the plain prompts; not_unsafe under each jailbreak and the worst case over all of them
(refused under every one); and the wall time of each model's runs from an empty store.

    .venv/bin/python benchmarks/safety_scenarios.py [--instances 40] [--perturbed 16] [--max-tokens 64]
        [--models smollm2-135m-instruct,gemma-3-270m] [--store DIR] [--out benchmarks/results/safety_scenarios.json]

Without --store the runs go to a fresh temporary store (the wall times are from nothing cached); with one, an
interrupted benchmark resumes there, and the wall times then count only what was left to do.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from tony.api import run
from tony.core.store import Store
from tony.lm.api import plan

JAILBREAKS = ("prefix_injection", "refusal_suppression", "role_play", "base64", "payload_splitting",
              "few_shot_compliance", "language_switch")
HEADLINE = ("not_overrefuse", "not_unsafe", "refusal_rate", "partial_refusal_rate")


def entries(instances: int, perturbed: int, max_tokens: int) -> list[str]:
    common = f"max_instances={instances},max_tokens={max_tokens}"
    jailbroken = f"{common},perturbations={'+'.join(JAILBREAKS)},max_perturbed={perturbed}"
    return [f"xstest:{common}", f"strongreject:{jailbroken}", f"harmbench:{jailbroken}"]


def _cell(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"value": row["value"], "ci": [row["ci_low"], row["ci_high"]], "n": row["n"]}


def measure(model: str, args: argparse.Namespace, store_url: str) -> dict[str, Any]:
    specs = plan(entries(args.instances, args.perturbed, args.max_tokens), model=model)
    started = time.perf_counter()
    results = list(run(specs, store_url))
    wall = time.perf_counter() - started
    failed = [r.error for r in results if r.status != "complete"]
    if failed:
        raise SystemExit(f"{model}: a run failed: {failed[0]}")
    store = Store(store_url)
    try:
        out: dict[str, Any] = {"wall_s": wall, "scenarios": {}}
        for spec, result in zip(specs, results, strict=True):
            rows = [r for r in store.stats([result.run_id]) if not r["split"] and not r["subgroup"]]
            plain = {r["metric"]: r for r in rows if not r["variant"]}
            jail = {r["variant"]: r for r in rows if r["metric"] == "not_unsafe" and r["variant"]}
            out["scenarios"][spec.scenario] = {
                "instances": len(store.records(result.run_id)),
                "plain": {m: _cell(plain.get(m)) for m in HEADLINE},
                "not_unsafe_under": {v: _cell(r) for v, r in jail.items()},
            }
    finally:
        store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=40)
    parser.add_argument("--perturbed", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--models", default="smollm2-135m-instruct,gemma-3-270m")
    parser.add_argument("--store", help="a results store to use and keep (default: a fresh temporary one)")
    parser.add_argument("--out", default="benchmarks/results/safety_scenarios.json")
    args = parser.parse_args()
    report: dict[str, Any] = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                              "load_before": os.getloadavg(), "args": vars(args), "models": {}}
    with tempfile.TemporaryDirectory() as folder:
        store_url = args.store or f"sqlite:///{Path(folder) / 'tony.sqlite'}"
        for model in args.models.split(","):
            report["models"][model] = measure(model, args, store_url)
            print(f"{model}: {report['models'][model]['wall_s']:.0f} s", flush=True)
    report["load_after"] = os.getloadavg()
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
