"""tony against lm-evaluation-harness on the same BIG-bench multiple-choice task, model and prompt.

Task: BIG-bench truthful_qa (task_mc.json), the first N questions, prompt `Q: {question}\\nA:`, each
option scored as a continuation after a space, accuracy = the most likely option is the correct one.

  (a) both on Hugging Face transformers with the same weights (the GGUF dequantized to an fp32 folder,
      loaded by both): wall-time ratio and per-question agreement of the chosen option;
  (b) tony's llama.cpp backend against the fastest backend lm-eval offers for the GGUF (its `gguf`
      model type against llama-cpp-python's server, and its `hf` type loading the GGUF itself).

Every time is a whole command (start-up and model loading included), from a fresh store for tony,
so nothing is answered from a cache. lm-eval's side is benchmarks/lm_eval_side.py (its own venv).

    .venv/bin/python benchmarks/lm_eval_compare.py --limit 100
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"
RESULTS = ROOT / "benchmarks" / "results" / "lm_eval_compare.json"
LM_EVAL_RESULTS = WORK / "lm-eval-results"
FOLDER = WORK / "gemma3-270m-fp32"
TASK_JSONL = WORK / "lm-eval-tasks" / "truthful_qa_mc.jsonl"

# tony backend -> the lm-eval backends it is compared with
PAIRS = {
    "transformers-folder": ["hf-folder"],
    "llamacpp": ["hf-folder", "hf-gguf"],
}


def tony_questions(limit: int) -> Path:
    """The same first `limit` questions, in tony's JSONL schema."""
    target = WORK / f"tony-truthful_qa-first{limit}.jsonl"
    with TASK_JSONL.open() as source, target.open("w") as out:
        for line, _ in zip(source, range(limit), strict=False):
            row = json.loads(line)
            out.write(json.dumps({"id": row["id"], "input": row["question"], "choices": row["choices"],
                                  "answer": row["gold"]}) + "\n")
    return target


def run_tony(backend: str, questions: Path, batch_size: int) -> dict:
    store = WORK / f"tony-store-{backend}"
    shutil.rmtree(store, ignore_errors=True)
    model = {"llamacpp": "model=gemma-3-270m",
             "transformers-folder": f"model=transformers,model.path={FOLDER},model.batch_size={batch_size}"}[backend]
    entry = f"jsonl:path={questions},method=multiple_choice_separate,{model}"
    start = time.perf_counter()
    subprocess.run([str(ROOT / ".venv" / "bin" / "tony"), "run", entry, "--store", str(store),
                    "--batch-size", "32"], check=True, capture_output=True)
    wall = time.perf_counter() - start
    sys.path.insert(0, str(ROOT / "src"))
    from tony.core.store import Store

    opened = Store(str(store))
    [run] = opened.runs()
    records = sorted(opened.records(run["run_id"]), key=lambda r: int(r["instance"]["id"]))
    choices = [r["details"]["options"].index(r["prediction"]) for r in records]
    return {"backend": backend, "wall_s": wall, "choices": choices,
            "loglikelihoods": [r["details"]["scores"] for r in records],
            "acc": sum(bool(r["correct"]) for r in records) / len(records)}


def lm_eval(backend: str, limit: int, refresh: bool) -> dict:
    record = LM_EVAL_RESULTS / f"{backend}-limit{limit}.json"
    if refresh or not record.exists():
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "lm_eval_side.py"), "--limit", str(limit),
                        "--backends", backend], check=True)
    data = json.loads(record.read_text())
    return {"backend": backend, "wall_s": data["wall_s"], "acc": data["acc"],
            "choices": [i["choice"] for i in data["instances"]],
            "loglikelihoods": [i["loglikelihoods"] for i in data["instances"]]}


def correlation(a: list[list[float]], b: list[list[float]]) -> float:
    import numpy as np

    x, y = np.concatenate([np.asarray(v) for v in a]), np.concatenate([np.asarray(v) for v in b])
    return float(np.corrcoef(x, y)[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--refresh", action="store_true", help="rerun lm-eval even if its results exist")
    args = parser.parse_args()
    if not TASK_JSONL.exists():
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "lm_eval_side.py"), "--limit", str(args.limit),
                        "--backends", "hf-folder"], check=True)
    questions = tony_questions(args.limit)
    comparisons = []
    for tony_backend, others in PAIRS.items():
        ours = run_tony(tony_backend, questions, args.batch_size)
        for other_backend in others:
            theirs = lm_eval(other_backend, args.limit, args.refresh)
            agree = sum(a == b for a, b in zip(ours["choices"], theirs["choices"], strict=True))
            row = {"tony": tony_backend, "lm_eval": other_backend, "questions": len(ours["choices"]),
                   "tony_wall_s": round(ours["wall_s"], 1), "lm_eval_wall_s": round(theirs["wall_s"], 1),
                   "speedup": round(theirs["wall_s"] / ours["wall_s"], 2), "tony_acc": ours["acc"],
                   "lm_eval_acc": theirs["acc"], "same_choice": agree,
                   "loglikelihood_correlation": round(correlation(ours["loglikelihoods"],
                                                                  theirs["loglikelihoods"]), 5)}
            print(json.dumps(row))
            comparisons.append(row)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"limit": args.limit, "comparisons": comparisons}, indent=1))


if __name__ == "__main__":
    main()
