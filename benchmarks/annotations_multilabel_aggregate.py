"""Aggregating the 6,761-image ImageNet multi-label annotations end to end: tony against pandas, one run.

Claim: reading the released files (classify_task.jsonl, image_categories.csv, classes.json,
superclasses.json) with their schema checks and aggregating every image (selection frequencies, number
of objects, main label with its tie rule, valid labels, labels grouped into objects, data set counts)
takes under 2 s.

The comparison is what a user of the release would otherwise write: pandas (the release shipped pandas
pickles), `read_json(lines=True)`, `explode` and `groupby` for the same per-image numbers: selection
frequencies, objects (mode of selection sizes, ties to the smaller), main label (most main votes, ties to
the more selected, then the smaller index), valid labels (frequency >= 0.2) and the counts. pandas does
less: no schema checks and no grouping of labels into objects. Both results are checked equal, image by
image. Each side runs `--repeats` times, alternating, in this process after one untimed warm-up each
(imports excluded); the best and the median wall time and the best CPU time (user + system) are reported,
with the machine's load average: other people's work on a shared machine stretches wall times, while CPU
time stays close to what an idle machine's wall time would be (both sides run on one thread).
Also timed once: the whole command `tony annotations multilabel DIR --format json` in a fresh process
with a fresh store (process start, imports, the run's 10,000 records written to SQLite and its stats).

    .venv/bin/python benchmarks/annotations_multilabel_aggregate.py [--data ../shared/data/imagenet-multilabel]

Writes benchmarks/results/annotations_multilabel_aggregate.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "annotations_multilabel_aggregate.json"
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "imagenet-multilabel"
TARGET_S = 2.0


def tony_side(data: Path) -> dict[str, tuple[int, int, tuple[int, ...]]]:
    """Image -> (objects, main label, valid labels), by tony; also computes the data set counts."""
    from tony.annotations.multilabel import api

    loaded = api.load(data)
    summaries = api.summaries(loaded)
    api.statistics(loaded, summaries)
    return {s.image: (s.objects, s.main, tuple(sorted(s.valid))) for s in summaries}


def pandas_side(data: Path) -> dict[str, tuple[int, int, tuple[int, ...]]]:
    """The same per-image numbers with pandas, as a user of the release would compute them."""
    import pandas as pd

    frame = pd.read_json(data / "classify_task.jsonl", lines=True)
    pd.read_csv(data / "image_categories.csv")
    per_annotator = frame[["image", "num_workers", "selected"]].explode("selected")
    per_annotator["size"] = per_annotator["selected"].str.len()
    sizes = per_annotator.groupby(["image", "size"]).size().reset_index(name="count")
    objects = (sizes.sort_values(["image", "count", "size"], ascending=[True, False, True])
               .drop_duplicates("image").set_index("image")["size"])
    chosen = per_annotator.explode("selected").rename(columns={"selected": "label"})
    counts = chosen.groupby(["image", "label"]).size().rename("selections").reset_index()
    counts = counts.merge(frame[["image", "num_workers"]], on="image")
    counts["frequency"] = counts["selections"] / counts["num_workers"]
    valid = counts[counts["frequency"] >= 0.2 - 1e-12].groupby("image")["label"].agg(lambda s: tuple(sorted(s)))
    votes = frame[["image", "main"]].explode("main").rename(columns={"main": "label"})
    votes = votes.groupby(["image", "label"]).size().rename("votes").reset_index()
    votes = votes.merge(counts[["image", "label", "selections"]], on=["image", "label"])
    main = (votes.sort_values(["image", "votes", "selections", "label"], ascending=[True, False, False, True])
            .drop_duplicates("image").set_index("image")["label"])
    frame["multi"] = frame["image"].map(objects) > 1
    frame["multi"].sum(), (frame["image"].map(main) == frame["imagenet_label"]).sum()  # the data set counts
    return {image: (int(objects[image]), int(main[image]), tuple(int(v) for v in valid.get(image, ())))
            for image in frame["image"]}


def command_seconds(data: Path) -> tuple[float, float, dict[str, Any]]:
    """The whole CLI in a fresh process with a fresh store: wall and CPU (user + system) seconds."""
    with tempfile.TemporaryDirectory() as store:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "tony.cli", "annotations", "multilabel", str(data),
                               "--store", store, "--format", "json"], capture_output=True, text=True, check=True,
                              env={"TONY_PROGRESS": "0", "PATH": "/usr/bin:/bin"})
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        return wall, cpu, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-command", action="store_true",
                        help="do not time the whole `tony annotations multilabel` command")
    args = parser.parse_args()
    if not (args.data / "classify_task.jsonl").is_file():
        sys.exit(f"no data at {args.data}: pass --data DIR (the ImageNet multi-label release in tony's schema)")
    ours, theirs = tony_side(args.data), pandas_side(args.data)  # warm-up, and the equality check
    mismatches = [image for image in ours if ours[image] != theirs.get(image)]
    if mismatches or len(ours) != len(theirs):
        sys.exit(f"tony and pandas disagree on {len(mismatches)} images, e.g. {mismatches[:3]}")
    times: dict[str, list[float]] = {"tony": [], "pandas": []}
    cpu: dict[str, list[float]] = {"tony": [], "pandas": []}
    for _ in range(args.repeats):
        for name, side in (("tony", tony_side), ("pandas", pandas_side)):
            start, start_cpu = time.perf_counter(), time.process_time()
            side(args.data)
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    command_s, command_cpu_s, output = (None, None, None) if args.skip_command else command_seconds(args.data)
    import pandas

    result = {
        "claim": f"aggregating the {len(ours):,}-image real data end to end takes under {TARGET_S} s",
        "images": len(ours), "identical_per_image_results": True,
        "tony_best_s": min(times["tony"]), "tony_median_s": statistics.median(times["tony"]),
        "pandas_best_s": min(times["pandas"]), "pandas_median_s": statistics.median(times["pandas"]),
        "speedup_median": statistics.median(times["pandas"]) / statistics.median(times["tony"]),
        "tony_cpu_best_s": min(cpu["tony"]), "pandas_cpu_best_s": min(cpu["pandas"]),
        "speedup_cpu_best": min(cpu["pandas"]) / min(cpu["tony"]),
        "target_s": TARGET_S, "meets_target_cpu": min(cpu["tony"]) < TARGET_S,
        "meets_target_wall_best": min(times["tony"]) < TARGET_S,
        "command_s": command_s, "command_cpu_s": command_cpu_s,
        "command_output": output and {k: output[k] for k in ("images", "multi_object_images",
                                                             "main_label_is_benchmark_label")},
        "repeats": args.repeats, "times": times, "cpu_times": cpu, "load_average_1_5_15": list(os.getloadavg()),
        "python": platform.python_version(), "pandas": pandas.__version__, "machine": platform.machine(),
        "measured": time.strftime("%Y-%m-%d %H:%M"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    command = "not timed" if command_s is None else f"{command_s:.2f} s ({command_cpu_s:.2f} s CPU)"
    print(f"tony   {result['tony_median_s']:.3f} s median, {result['tony_best_s']:.3f} best, "
          f"{result['tony_cpu_best_s']:.3f} s CPU best\n"
          f"pandas {result['pandas_median_s']:.3f} s median, {result['pandas_best_s']:.3f} best, "
          f"{result['pandas_cpu_best_s']:.3f} s CPU best\n"
          f"speed-up {result['speedup_median']:.2f}x (median wall), {result['speedup_cpu_best']:.2f}x (best CPU); "
          f"whole command {command}; load average {os.getloadavg()[0]:.1f}   -> {RESULTS}")


if __name__ == "__main__":
    main()
