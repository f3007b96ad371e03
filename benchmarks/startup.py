"""Start-up time of `tony --help` and `tony ls` against `lm_eval --help` and `inspect --help`.

lm-eval and inspect-ai are installed into benchmarks/.work/startup-venv (never into .venv).
Each command is run `--repeat` times after one warm-up; the median wall time is reported. With `--baseline-src
DIR` (the src/ folder of another checkout, e.g. a `git worktree` of an older commit) tony's commands are also timed
on that code, interleaved with this one's, to show what a change did; `--skip-others` leaves out lm-eval and inspect.

    .venv/bin/python benchmarks/startup.py [--baseline-src DIR] [--skip-others]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"
VENV = WORK / "startup-venv"
RESULTS = ROOT / "benchmarks" / "results" / "startup.json"


def ensure_other_tools() -> Path:
    bin_dir = VENV / "bin"
    if not (bin_dir / "lm_eval").exists() or not (bin_dir / "inspect").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(bin_dir / "pip"), "install", "-q", "torch==2.13.0", "lm-eval==0.4.13", "inspect-ai"],
                       check=True)
    return bin_dir


def median_seconds(commands: dict[str, tuple[list[str], dict[str, str] | None]], repeat: int) -> dict[str, float]:
    """The median wall time of each command (with its environment), the commands taking turns each round."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(repeat + 1):
        for name, (command, env) in commands.items():
            start = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True, env=env)
            if round_:  # the first round is the warm-up
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--baseline-src", type=Path, help="src/ of another checkout to time tony's commands on too")
    parser.add_argument("--skip-others", action="store_true", help="time tony only, not lm-eval and inspect")
    args = parser.parse_args()
    tony = str(ROOT / ".venv" / "bin" / "tony")
    commands: dict[str, tuple[list[str], dict[str, str] | None]] = {
        "tony --help": ([tony, "--help"], None),
        "tony ls": ([tony, "ls"], None),
    }
    if args.baseline_src:
        env = {**os.environ, "PYTHONPATH": str(args.baseline_src.resolve())}
        commands |= {"baseline --help": ([tony, "--help"], env), "baseline ls": ([tony, "ls"], env)}
    if not args.skip_others:
        other = ensure_other_tools()
        commands |= {"lm_eval --help": ([str(other / "lm_eval"), "--help"], None),
                     "inspect --help": ([str(other / "inspect"), "--help"], None)}
    seconds = median_seconds(commands, args.repeat)
    for name, value in seconds.items():
        ratio = value / seconds["tony --help"]
        print(f"{name:<16} {value * 1000:7.0f} ms   {ratio:5.1f}x tony --help")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"repeat": args.repeat, "median_seconds": seconds}, indent=1))


if __name__ == "__main__":
    main()
