"""tony's llama.cpp multiple-choice path against the minimal reference scorer, on the same questions.

The reference is benchmarks/mc_reference_scorer.py: llama-cpp-python's C API used the fastest way
we know (one decode call per question, the prompt once in a KV cache shared by every option's
sequence, logits only where scored), with the same context parameters as tony's client. The
questions are the first N of TruthfulQA MC1 from the data shelf's CSV (`write_questions` in
benchmarks/lm_eval_side.py: the options of tony's own `truthfulqa` scenario, prompt `Q: ...\\nA:`,
options as continuations after a space).

The jsonl route is used so that the option order is identical: tony runs
`tony run jsonl:path=<questions>,method=multiple_choice_separate,model=gemma-3-270m` (its adapter
shuffles each question's options with the run's seed and stores the order it scored), and the
reference reads the same questions with each question's options in the order tony's record
shows, so both make the same decode calls, batch rows in the same order. (llama.cpp's kernels
give slightly different numbers for an option placed elsewhere in the batch.)

Each turn is a whole command: `tony run` from a fresh store (start-up, model loading, store and
cache commits included) or the reference script (start-up and loading included). Turns are
paired and alternate (tony first in even rounds, the reference first in odd ones, so drift in
the machine's load falls on both); the first round's tony turn gives the option order. For each
turn: wall time, the child's CPU time and peak RSS (`wait4`). Reported: the per-round ratios
tony / reference and their median, same choice count, max |log-likelihood difference| (per
option, matched by text), accuracy of both, to benchmarks/results/mc_scoring_compare.json.

    .venv/bin/python benchmarks/mc_scoring_compare.py               # 100 questions, 3 rounds
    .venv/bin/python benchmarks/mc_scoring_compare.py --limit 5 --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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

from lm_eval_side import write_questions  # noqa: E402

WORK = ROOT / "benchmarks" / ".work" / "mc-scoring"
RESULTS = ROOT / "benchmarks" / "results" / "mc_scoring_compare.json"
PYTHON = ROOT / ".venv" / "bin" / "python"
TONY = ROOT / ".venv" / "bin" / "tony"


def timed(cmd: list[str]) -> dict:
    """Run a whole command; its wall time, CPU time and peak RSS (this child's own, from wait4)."""
    print("+", shlex.join(cmd), flush=True)
    log = WORK / "stderr.log"
    with log.open("wb") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"exit {code}: {shlex.join(cmd)}\n{log.read_text(errors='replace')[-3000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024}


def run_tony(questions: Path) -> tuple[dict, dict]:
    """One `tony run` from a fresh store; (timing, {id: (options, scores, prediction, correct)})."""
    store = WORK / "tony-store"
    shutil.rmtree(store, ignore_errors=True)
    entry = f"jsonl:path={questions},method=multiple_choice_separate,model=gemma-3-270m"
    turn = timed([str(TONY), "run", entry, "--store", str(store)]) | {"command": f"tony run {entry} --store S"}
    from tony.core.store import Store

    opened = Store(str(store))
    [run] = opened.runs()
    records = {r["instance"]["id"]: r for r in opened.records(run["run_id"])}
    opened.close()
    return turn, {i: (r["details"]["options"], r["details"]["scores"], r["prediction"], bool(r["correct"]))
                  for i, r in records.items()}


def in_tony_order(questions: Path, tony: dict) -> Path:
    """The questions with each one's options in the order tony scored them."""
    target = WORK / f"{questions.stem}-tony-order.jsonl"
    with questions.open(encoding="utf-8") as source, target.open("w", encoding="utf-8") as out:
        for line in source:
            row = json.loads(line)
            options = tony[row["id"]][0]
            if sorted(options) != sorted(row["choices"]):
                raise SystemExit(f"question {row['id']}: tony scored other options than the file's")
            best = row["choices"][row["answer"]]
            out.write(json.dumps(row | {"choices": options, "answer": options.index(best)}) + "\n")
    return target


def run_reference(gguf: Path, questions: Path) -> tuple[dict, dict]:
    out = WORK / "reference.json"
    cmd = [str(PYTHON), str(ROOT / "benchmarks" / "mc_reference_scorer.py"), "--model", str(gguf),
           "--questions", str(questions), "--out", str(out)]
    turn = timed(cmd) | {"command": shlex.join(cmd)}
    data = json.loads(out.read_text())
    turn |= {"load_s": data["load_s"], "score_s": data["score_s"], "tokens_fed": data["tokens_fed"]}
    answers = {json.loads(line)["id"]: json.loads(line) for line in questions.read_text().splitlines()}
    scored = {}
    for q in data["questions"]:
        row = answers[q["id"]]
        scored[q["id"]] = (row["choices"], q["loglikelihoods"], row["choices"][q["choice"]],
                           q["choice"] == row["answer"])
    return turn, scored


def agreement(tony: dict, reference: dict) -> dict:
    same_choice, max_diff, identical, options = 0, 0.0, True, 0
    for key, (options_t, scores_t, chosen_t, _) in tony.items():
        options_r, scores_r, chosen_r, _ = reference[key]
        by_text = dict(zip(options_r, scores_r, strict=True))
        same_choice += chosen_t == chosen_r
        for option, score in zip(options_t, scores_t, strict=True):
            max_diff = max(max_diff, abs(score - by_text[option]))
            identical &= score == by_text[option]
            options += 1
    return {"questions": len(tony), "options": options, "same_choice": same_choice,
            "max_abs_loglikelihood_diff": max_diff, "loglikelihoods_bit_identical": identical,
            "tony_acc": sum(v[3] for v in tony.values()) / len(tony),
            "reference_acc": sum(v[3] for v in reference.values()) / len(reference)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=100, help="the first N TruthfulQA MC1 questions")
    parser.add_argument("--rounds", type=int, default=3, help="paired turns (tony + reference) to time")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.limit < 1:
        parser.error("--rounds and --limit must be at least 1")
    WORK.mkdir(parents=True, exist_ok=True)
    from tony.lm.clients.models import embedded_gguf_path

    gguf = embedded_gguf_path()
    questions = write_questions(args.limit)
    ordered = None
    turns, ratios = [], []
    for round_ in range(args.rounds):
        pair = {}
        sides = ("tony", "reference") if round_ % 2 == 0 else ("reference", "tony")
        for side in sides:
            if side == "tony":
                turn, tony = run_tony(questions)
                ordered = ordered or in_tony_order(questions, tony)
            else:
                turn, reference = run_reference(gguf, ordered)
            pair[side] = turn
            turns.append({"round": round_, "tool": side, **turn})
            print(json.dumps(turns[-1]), flush=True)
        ratios.append({key: pair["tony"][key] / pair["reference"][key] for key in ("wall_s", "cpu_s", "peak_rss_mb")})
        # Every round must give the same answers (nothing cached, nothing random).
        match = agreement(tony, reference)
        if round_ == 0:
            first = match
        elif match != first:
            raise SystemExit(f"round {round_} disagrees with round 0: {match} vs {first}")
    result = {
        "what": "tony run (llama.cpp) / minimal llama-cpp-python reference, whole commands, TruthfulQA MC1",
        "limit": args.limit,
        "rounds": args.rounds,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor()},
        "median_ratio": {key: statistics.median(r[key] for r in ratios) for key in ratios[0]},
        "ratios": ratios,
        **first,
        "turns": turns,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("turns", "ratios")}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
