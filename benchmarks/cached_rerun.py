"""A rerun of a fully cached suite of 1,000 instances: target under 2 s.

Fills a store with a 1,000-instance run (BIG-bench strategyqa, multiple choice, the embedded model),
then times, as whole `tony run` commands:
  (a) the rerun of the complete suite (the store already holds the run);
  (b) the same suite after its run rows and records are deleted but the request cache is kept: every
      request is answered from the cache and every record and stat is rebuilt and stored again.

    .venv/bin/python benchmarks/cached_rerun.py
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "benchmarks" / ".work" / "cached-rerun-store"
RESULTS = ROOT / "benchmarks" / "results" / "cached_rerun.json"
ENTRY = "bigbench:task=strategyqa,method=multiple_choice_separate"
TONY = [str(ROOT / ".venv" / "bin" / "tony"), "run", ENTRY, "--max-instances", "1000", "--store", str(STORE)]


def timed_run() -> float:
    start = time.perf_counter()
    subprocess.run(TONY, check=True, capture_output=True)
    return time.perf_counter() - start


def forget_runs_keep_cache() -> None:
    with sqlite3.connect(STORE / "tony.sqlite") as conn:
        for table in ("stats", "records", "runs"):
            conn.execute(f"delete from {table}")


def main() -> None:
    fill = timed_run()
    complete = min(timed_run() for _ in range(3))
    rebuilt = []
    for _ in range(3):
        forget_runs_keep_cache()
        rebuilt.append(timed_run())
    with sqlite3.connect(STORE / "tony.sqlite") as conn:
        records = conn.execute("select count(*) from records").fetchone()[0]
    result = {"instances": records, "first_run_s": fill, "rerun_complete_s": complete,
              "rerun_from_cache_s": min(rebuilt)}
    print(json.dumps(result, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))
    if records != 1000:
        sys.exit(f"expected 1000 records, found {records}")


if __name__ == "__main__":
    main()
