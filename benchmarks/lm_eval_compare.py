"""tony against lm-evaluation-harness on TruthfulQA MC1, the same questions, prompt and continuations.

The first N questions of the data shelf's `truthfulqa/TruthfulQA.csv` (MC1: the best answer
against the incorrect ones), written once as a JSONL file in tony's schema by `write_questions`
(benchmarks/lm_eval_side.py) and read by both tools: tony through `jsonl:path=...`, lm-eval through
a task YAML (`dataset_path: json`) under benchmarks/.work. Prompt `Q: {question}\\nA:`, each option
scored as the continuation `" " + option`, accuracy = the most likely option is the best answer.

tony's llama.cpp backend (the embedded Gemma 3 270M GGUF) is compared with each lm-eval route:

  - `hf-gguf`: lm-eval's `hf` model loading the same GGUF (`gguf_file=`), as a new user would;
  - `hf-folder`: lm-eval's `hf` model on the GGUF dequantized once to an fp32 folder.

(`--tony-backends transformers-folder` adds tony's transformers client on that folder.)

Every time is a whole command (start-up and model loading included), tony from a fresh store so
nothing is answered from a cache, all in this one run (lm-eval's runs are redone unless `--reuse`);
with `--rounds R` the commands take turns R times in rotated order and the medians are reported.
tony scores each question's options in its own seeded order and lm-eval in the file's order, so
choices are compared by the chosen option's text and log-likelihoods matched by option text.
Peak memory is each command's own maximum RSS (wait4). lm-eval runs in its own venv
(benchmarks/.work/lm-eval-venv, set up by lm_eval_side.py on first use).

    .venv/bin/python benchmarks/lm_eval_compare.py --limit 100
    .venv/bin/python benchmarks/lm_eval_compare.py --limit 5 --backends hf-folder   # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import lm_eval_side  # noqa: E402

WORK = ROOT / "benchmarks" / ".work"
RESULTS = ROOT / "benchmarks" / "results" / "lm_eval_compare.json"
TONY = ROOT / ".venv" / "bin" / "tony"
TONY_BACKENDS = ("llamacpp", "transformers-folder")


def run_tony(backend: str, questions: Path, batch_size: int) -> dict:
    """One `tony run` from a fresh store: timings and, per question id, (options, scores, prediction, correct)."""
    store = WORK / f"tony-store-{backend}"
    shutil.rmtree(store, ignore_errors=True)
    model = {"llamacpp": "model=gemma-3-270m",
             "transformers-folder": f"model=transformers,model.path={lm_eval_side.FOLDER},"
                                    f"model.batch_size={batch_size}"}[backend]
    entry = f"jsonl:path={questions},method=multiple_choice_separate,{model}"
    cmd = [str(TONY), "run", entry, "--store", str(store)]
    print("+", shlex.join(cmd), flush=True)
    log = WORK / f"tony-{backend}.log"
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"tony run failed (exit {code}):\n{log.read_text(errors='replace')[-3000:]}")
    from tony.core.store import Store

    opened = Store(str(store))
    [run] = opened.runs()
    scored = {r["instance"]["id"]: (r["details"]["options"], r["details"]["scores"], r["prediction"],
                                    bool(r["correct"])) for r in opened.records(run["run_id"])}
    opened.close()
    return {"backend": backend, "command": shlex.join(cmd), "wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024,
            "scored": scored}


def run_lm_eval(backend: str, limit: int, batch_size: int, threads: int | None, reuse: bool) -> dict:
    record = lm_eval_side.RESULTS_DIR / f"{backend}-limit{limit}.json"
    if not (reuse and record.exists()):
        argv = ["--limit", str(limit), "--backends", backend, "--batch-size", str(batch_size)]
        lm_eval_side.main(argv + (["--threads", str(threads)] if threads else []))
    data = json.loads(record.read_text())
    scored = {i["id"]: (i["choices"], i["loglikelihoods"], i["choices"][i["choice"]], i["correct"])
              for i in data["instances"]}
    return {"backend": backend, "command": data["command"], "wall_s": data["wall_s"],
            "peak_rss_mb": data["peak_rss_mb"], "scored": scored}


def compare(ours: dict, theirs: dict) -> dict:
    """Agreement of two runs' per-question choices (by option text) and log-likelihoods (matched by text)."""
    import numpy as np

    a, b, same = [], [], 0
    for key, (options, scores, chosen, _) in ours["scored"].items():
        other_options, other_scores, other_chosen, _ = theirs["scored"][key]
        by_text = dict(zip(other_options, other_scores, strict=True))
        same += chosen == other_chosen
        a.extend(scores)
        b.extend(by_text[o] for o in options)
    x, y = np.asarray(a), np.asarray(b)
    n = len(ours["scored"])
    return {"questions": n, "options": len(a), "same_choice": same,
            "tony_acc": sum(v[3] for v in ours["scored"].values()) / n,
            "lm_eval_acc": sum(v[3] for v in theirs["scored"].values()) / n,
            "loglikelihood_correlation": round(float(np.corrcoef(x, y)[0, 1]), 5),
            "max_abs_loglikelihood_diff": float(np.abs(x - y).max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=100, help="the first N TruthfulQA MC1 questions")
    parser.add_argument("--backends", nargs="+", choices=lm_eval_side.BACKENDS,
                        default=list(lm_eval_side.DEFAULT_BACKENDS), help="lm-eval routes")
    parser.add_argument("--tony-backends", nargs="+", choices=TONY_BACKENDS, default=["llamacpp"])
    parser.add_argument("--rounds", type=int, default=1, help="times every command runs, in rotated order")
    parser.add_argument("--batch-size", type=int, default=8, help="lm-eval's (and tony's transformers client's)")
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for lm-eval (default: torch's)")
    parser.add_argument("--reuse", action="store_true", help="use lm-eval results already on disk, if any")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    # Set up lm-eval's side first (venv, task, converted folder): not part of any timed command.
    lm_eval_side.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    lm_eval_side.setup_venv(with_server="gguf-server" in args.backends)
    lm_eval_side.prepare_task(args.limit)
    lm_eval_side.convert_folder(lm_eval_side.gguf_path())
    questions = lm_eval_side.write_questions(args.limit)

    commands = [("tony", b) for b in args.tony_backends] + [("lm-eval", b) for b in args.backends]
    runs: dict[tuple[str, str], list[dict]] = {c: [] for c in commands}
    for round_ in range(args.rounds):
        shift = round_ % len(commands)
        for tool, backend in commands[shift:] + commands[:shift]:
            if tool == "tony":
                done = run_tony(backend, questions, args.batch_size)
            else:
                done = run_lm_eval(backend, args.limit, args.batch_size, args.threads, args.reuse and round_ == 0)
            runs[(tool, backend)].append(done)
            print(json.dumps({"round": round_, "tool": tool, "backend": backend, "wall_s": round(done["wall_s"], 1),
                              "peak_rss_mb": round(done["peak_rss_mb"])}), flush=True)

    def median(tool: str, backend: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[(tool, backend)])

    comparisons = []
    for tony_backend in args.tony_backends:
        ours = runs[("tony", tony_backend)][-1]
        for backend in args.backends:
            theirs = runs[("lm-eval", backend)][-1]
            tony_wall, their_wall = median("tony", tony_backend, "wall_s"), median("lm-eval", backend, "wall_s")
            tony_rss, their_rss = median("tony", tony_backend, "peak_rss_mb"), median("lm-eval", backend, "peak_rss_mb")
            row = {"tony": tony_backend, "lm_eval": backend,
                   "tony_wall_s": round(tony_wall, 1), "lm_eval_wall_s": round(their_wall, 1),
                   "speedup": round(their_wall / tony_wall, 2),
                   "tony_peak_rss_mb": round(tony_rss), "lm_eval_peak_rss_mb": round(their_rss),
                   **compare(ours, theirs)}
            print(json.dumps(row), flush=True)
            comparisons.append(row)
    turns = [{"tool": tool, "backend": backend, "round": i, "command": r["command"],
              "wall_s": round(r["wall_s"], 2), "peak_rss_mb": round(r["peak_rss_mb"], 1)}
             for (tool, backend), done in runs.items() for i, r in enumerate(done)]
    result = {"limit": args.limit, "rounds": args.rounds, "cpus": os.cpu_count(), "threads": args.threads,
              "comparisons": comparisons, "turns": turns}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
