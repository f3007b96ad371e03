"""Claim: the speech channel's throughput on a 100-instance multiple-choice scenario, in instances per minute, with
the options scored separately (the question spoken, the options text) and with the options read out (joint: the
question and its lettered options spoken, the model answers a letter), beside the same instances in text alone.

Each mode is one `tony run` of OpenBookQA (from the data root, 4 options) with smollm2-135m-instruct on a fresh
store and a fresh transcript cache (the assembled Whisper weights kept), timed whole, so a speech mode's minute
covers every instance as text and as speech (the synthesis, the transcription and both model passes) and counts
each instance once. Accuracy in text and heard through the channel, and the heard prompts' word error rate, come
from the run's own stats; the paired difference of accuracy (heard minus text) from the voice page's bootstrap.

    .venv/bin/python benchmarks/voice_throughput.py --instances 100

Writes benchmarks/results/voice_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tony.core.store import Store
from tony.voice.report import paired_differences

RESULTS = Path(__file__).parent / "results" / "voice_throughput.json"
MODES = {
    "text alone (separate)": "",
    "speech, options scored separately": ",channel=speech,voice=en-us",
    "speech, options read out (joint)": ",method=multiple_choice_joint,channel=speech,voice=en-us",
}
SHOWN = ("accuracy", "accuracy@speech:en-us", "word_error_rate@speech:en-us")


def timed_run(entry: str, data: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TONY_CACHE_DIR=str(Path(tmp) / "cache"))
        cache = Path(os.environ.get("TONY_CACHE_DIR") or Path.home() / ".cache" / "tony")
        (Path(tmp) / "cache").mkdir()
        for name in cache.glob("whisper-base*"):  # the assembled model, not the transcripts
            (Path(tmp) / "cache" / name.name).symlink_to(name)
        store = Path(tmp) / "store"
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tony.cli", "run", entry, "--store", str(store), "--data", data],
                       check=True, env=env)
        wall = time.perf_counter() - start
        results = Store(str(store))
        stats = {row["name"]: row for row in results.stats() if not row["split"] and not row["subgroup"]}
        [run] = results.runs()
        paired = paired_differences(results.records(run["run_id"])).get(("accuracy", "en-us"))
    return {"entry": entry, "wall_s": wall, "stats": {name: {k: stats[name][k] for k in ("value", "ci_low", "ci_high")}
                                                      for name in SHOWN if name in stats},
            "accuracy_heard_minus_text": paired and dict(zip(("diff", "ci_low", "ci_high", "pairs"), paired,
                                                              strict=True))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = parser.parse_args()
    out: dict = {"instances": args.instances, "load_before": os.getloadavg(), "modes": {}}
    for mode, channel in MODES.items():
        row = timed_run(f"openbookqa:model=smollm2-135m-instruct,max_instances={args.instances}{channel}", args.data)
        row["instances_per_minute"] = 60 * args.instances / row["wall_s"]
        out["modes"][mode] = row
        print(f"{mode:<36}{row['wall_s']:7.1f} s {row['instances_per_minute']:6.1f}/min {row['stats']} "
              f"{row['accuracy_heard_minus_text']}", flush=True)
    out["load_after"] = os.getloadavg()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
