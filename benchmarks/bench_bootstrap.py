"""The kernel's vectorised bootstrap against a one-resample-at-a-time loop and scipy.stats.bootstrap.

Claim: `tony.core.stats.bootstrap` (resample indices drawn as one (resamples, n) array, used in chunks of at most
MAX_RESAMPLED_VALUES values) computes the 95% percentile interval of a mean from 1,000 resamples at least as fast
as the textbook loop (one resample at a time) and scipy.stats.bootstrap (percentile method, vectorised, when
scipy is installed). All three draw the same indices from generators seeded alike: the loop's interval is the
kernel's to the bit (checked), scipy's to rounding (its percentile is computed another way). Measured at
n = 10,000 (each of the loop's resamples is itself vectorised over n, so the loop is close) and at n = 100 (a
typical subgroup: the loop's Python overhead dominates). Also timed: the same code with the previous chunk size
(2^24 values: one block here), which gives the same interval.

Each side runs `--repeats` times, alternating, after one untimed warm-up; the best and the median wall time and
the best CPU time (user + system) are reported with the load average (other work on a shared machine stretches
wall times; CPU time stays near an idle machine's wall time, every side runs on one thread).

    .venv/bin/python benchmarks/bench_bootstrap.py [--n 10000] [--resamples 1000] [--repeats 7]

Writes benchmarks/results/bench_bootstrap.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tony.core import stats

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "bench_bootstrap.json"
SEED = 0
PREVIOUS_CHUNK_VALUES = 1 << 24


def kernel(values: np.ndarray, resamples: int) -> tuple[float, float]:
    """The kernel's vectorised bootstrap, as `mean_stat` calls it."""
    return stats.bootstrap_ci(values, resamples=resamples, seed=SEED)


def previous_chunks(values: np.ndarray, resamples: int) -> tuple[float, float]:
    """The same code with the chunk size before this change."""
    chosen, stats.MAX_RESAMPLED_VALUES = stats.MAX_RESAMPLED_VALUES, PREVIOUS_CHUNK_VALUES
    try:
        return stats.bootstrap_ci(values, resamples=resamples, seed=SEED)
    finally:
        stats.MAX_RESAMPLED_VALUES = chosen


def loop(values: np.ndarray, resamples: int) -> tuple[float, float]:
    """The textbook loop: one resample at a time from the same generator."""
    rng = np.random.default_rng(SEED)
    means = [values[rng.integers(0, len(values), size=len(values))].mean() for _ in range(resamples)]
    alpha = (1.0 - 0.95) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


def scipy_side(values: np.ndarray, resamples: int) -> tuple[float, float]:
    """scipy.stats.bootstrap, percentile method, all resamples at once."""
    from scipy.stats import bootstrap

    result = bootstrap((values,), np.mean, n_resamples=resamples, method="percentile", vectorized=True,
                       random_state=np.random.default_rng(SEED))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def timed(side: Callable[[np.ndarray, int], tuple[float, float]], values: np.ndarray,
          resamples: int) -> tuple[float, float, tuple[float, float]]:
    """(wall seconds, CPU seconds, interval) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    interval = side(values, resamples)
    return time.perf_counter() - wall, time.process_time() - cpu, interval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100], help="sample sizes")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    sides: dict[str, Callable[[np.ndarray, int], tuple[float, float]]] = {
        "kernel": kernel, "previous_chunks": previous_chunks, "loop": loop}
    try:
        import scipy

        sides["scipy"] = scipy_side
        scipy_version = scipy.__version__
    except ImportError:
        scipy_version = None
    sizes = {n: measure(sides, n, args.resamples, args.repeats) for n in args.n}
    result = {"resamples": args.resamples, "repeats": args.repeats, "sizes": sizes,
              "chunk_values": stats.MAX_RESAMPLED_VALUES, "load_average_1_5_15": list(os.getloadavg()),
              "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy_version,
              "machine": platform.machine()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    for n, summary in sizes.items():
        best = summary["kernel"]["best_cpu_s"]
        for name, row in summary.items():
            low, high = row["interval"]
            print(f"n={n:<6} {name:16} wall best {row['best_s'] * 1000:7.2f} ms, median "
                  f"{row['median_s'] * 1000:7.2f} ms; CPU best {row['best_cpu_s'] * 1000:7.2f} ms "
                  f"({row['best_cpu_s'] / best:4.1f}x kernel); interval [{low:.6f}, {high:.6f}]")
    print(f"load average {os.getloadavg()[0]:.1f}   -> {RESULTS}")


def measure(sides: dict[str, Callable[[np.ndarray, int], tuple[float, float]]], n: int, resamples: int,
            repeats: int) -> dict[str, dict[str, object]]:
    """Each side's best and median wall time, best CPU time and interval on one sample of n values."""
    values = np.random.default_rng(1).normal(loc=3.0, scale=2.0, size=n)
    walls: dict[str, list[float]] = {name: [] for name in sides}
    cpus: dict[str, list[float]] = {name: [] for name in sides}
    intervals = {name: side(values, resamples) for name, side in sides.items()}  # warm-up
    for _ in range(repeats):
        for name, side in sides.items():
            wall, cpu, interval = timed(side, values, resamples)
            assert interval == intervals[name], f"{name} is not deterministic"
            walls[name].append(wall)
            cpus[name].append(cpu)
    assert intervals["loop"] == intervals["kernel"] == intervals["previous_chunks"], intervals
    return {name: {"best_s": min(walls[name]), "median_s": statistics.median(walls[name]),
                   "best_cpu_s": min(cpus[name]), "interval": intervals[name]} for name in sides}


if __name__ == "__main__":
    main()
