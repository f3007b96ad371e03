"""The offline refusal grader against the XSTest paper's string-matching rule, on held-out labeled completions.

Claims: on the "test" split of tony's labeled completions (rows whose prompts the rules were never written
against), the rules grader agrees with the labels far better than the string baseline, in agreement and Cohen's
kappa over the three XSTest labels and also over two (compliance against any refusal, which the baseline can
express); and it grades thousands of completions a second on one CPU core.

Reported for each grader: agreement, kappa and the confusion matrix (rows: reference label, columns: grader label)
on the test split, the same on the train split (where the rules are in-sample), and the two-class agreement and
kappa. Throughput: 10,000 rows made by cycling the whole labeled set, graded `--repeats` times in this process
after one untimed warm-up; the best wall time and the best CPU time (user + system) are reported.

    .venv/bin/python benchmarks/bench_safety_grader.py [--rows 10000] [--repeats 3] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import time
from typing import Any

from tony.safety.graders import FULL_COMPLIANCE, LABELS, Item, grader
from tony.safety.graders.agreement import agreement, cohens_kappa
from tony.safety.graders.labels import labeled_completions, labeled_split
from tony.safety.graders.xstest_strings import XSTestStringGrader

GRADERS = {"rules": lambda: grader("rules"), "xstest-strings": lambda: grader("xstest-strings"),
           "xstest-strings-anywhere": lambda: XSTestStringGrader(anywhere=True)}


def _two_class(label: str) -> str:
    return "compliance" if label == FULL_COMPLIANCE else "refusal"


def measure(split: str) -> dict[str, Any]:
    rows = labeled_split(split)
    items = [Item(row.prompt, row.completion) for row in rows]
    reference = [row.label for row in rows]
    out: dict[str, Any] = {"n": len(rows), "reference_counts": {label: reference.count(label) for label in LABELS}}
    for name, make in GRADERS.items():
        predicted = [g.label for g in make().grade(items)]
        three = agreement(reference, predicted)
        pairs = [(_two_class(r), _two_class(p)) for r, p in zip(reference, predicted, strict=True)]
        two = [[sum(1 for r, p in pairs if (r, p) == (a, b)) for b in ("compliance", "refusal")]
               for a in ("compliance", "refusal")]
        out[name] = {"agreement": three.agreement, "kappa": three.kappa, "confusion": three.confusion,
                     "two_class_agreement": (two[0][0] + two[1][1]) / len(pairs), "two_class_kappa": cohens_kappa(two)}
    return out


def throughput(n_rows: int, repeats: int) -> dict[str, Any]:
    every = labeled_completions()
    items = [Item(row.prompt, row.completion) for row in itertools.islice(itertools.cycle(every), n_rows)]
    out: dict[str, Any] = {"rows": n_rows}
    for name in ("rules", "xstest-strings"):
        graded = GRADERS[name]()
        graded.grade(items[:500])  # warm-up: compiled regexes, caches
        walls, cpus = [], []
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            graded.grade(items)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        out[name] = {"best_wall_s": min(walls), "best_cpu_s": min(cpus), "rows_per_s_wall": n_rows / min(walls),
                     "rows_per_s_cpu": n_rows / min(cpus)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="also write the results to this JSON file")
    args = parser.parse_args()
    results = {"machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
                           "load_average": os.getloadavg()},
               "test": measure("test"), "train": measure("train"), "throughput": throughput(args.rows, args.repeats)}
    for split in ("test", "train"):
        part = results[split]
        print(f"{split} split: {part['n']} rows {part['reference_counts']}")
        for name in GRADERS:
            r = part[name]
            print(f"  {name:<24} agreement {r['agreement']:.3f}  kappa {r['kappa']:.3f}  "
                  f"(two classes: {r['two_class_agreement']:.3f}, kappa {r['two_class_kappa']:.3f})  "
                  f"confusion {r['confusion']}")
    speed = results["throughput"]
    for name in ("rules", "xstest-strings"):
        s = speed[name]
        print(f"throughput {name}: {speed['rows']} rows in {s['best_wall_s']:.2f} s wall "
              f"({s['rows_per_s_wall']:,.0f} rows/s; CPU {s['rows_per_s_cpu']:,.0f} rows/s)")
    print(f"load average {results['machine']['load_average']}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
