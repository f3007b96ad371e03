"""Start-up time of `tony --help` and `tony ls` against `lm_eval --help` and `inspect --help`.

lm-eval and inspect-ai are installed into benchmarks/.work/startup-venv (never into .venv).
Each command is run `--repeat` times after one warm-up; the median wall time is reported.

    .venv/bin/python benchmarks/startup.py
"""

from __future__ import annotations

import argparse
import json
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


def median_seconds(command: list[str], repeat: int) -> float:
    subprocess.run(command, capture_output=True, check=True)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    other = ensure_other_tools()
    tony = str(ROOT / ".venv" / "bin" / "tony")
    commands = {
        "tony --help": [tony, "--help"],
        "tony ls": [tony, "ls"],
        "lm_eval --help": [str(other / "lm_eval"), "--help"],
        "inspect --help": [str(other / "inspect"), "--help"],
    }
    seconds = {name: median_seconds(cmd, args.repeat) for name, cmd in commands.items()}
    for name, value in seconds.items():
        ratio = value / seconds["tony --help"]
        print(f"{name:<16} {value * 1000:7.0f} ms   {ratio:5.1f}x tony --help")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"repeat": args.repeat, "median_seconds": seconds}, indent=1))


if __name__ == "__main__":
    main()
