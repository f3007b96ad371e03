"""Claim: the word error rate of Whisper base on espeak-ng speech, per voice, clean and at 10 dB SNR (white and
babble noise), plus over a telephone line; and the speech channel's throughput: instances per minute of a
multiple-choice scenario evaluated as text and as speech.

WER: the 30 latency questions of tony.voice.latency (written for tony) spoken by each standard voice, corpus WER
with a bootstrap interval over sentences. Throughput: `tony run` of OpenBookQA (from the data root, 4 options)
with smollm2-135m-instruct and perturbations=speech, on a fresh store and a fresh transcript cache, timed whole
(text and speech of every instance), so instances per minute counts each instance once.

    .venv/bin/python benchmarks/voice_wer.py --throughput-instances 100

Writes benchmarks/results/voice_wer.json.
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

from tony.voice.audio import add_noise, telephone
from tony.voice.latency import QUESTIONS
from tony.voice.stt import transcriber
from tony.voice.tts import STANDARD_VOICES, synthesize
from tony.voice.wer import wer_stat, word_errors

RESULTS = Path(__file__).parent / "results" / "voice_wer.json"
CONDITIONS = {
    "clean": lambda x, seed: x,
    "10dB-white": lambda x, seed: add_noise(x, 10.0, "white", seed),
    "10dB-babble": lambda x, seed: add_noise(x, 10.0, "babble", seed),
    "telephone": lambda x, seed: telephone(x),
}


def word_error_rates() -> list[dict]:
    recognizer = transcriber()
    rows = []
    for voice in STANDARD_VOICES:
        for condition, apply in CONDITIONS.items():
            errors = [word_errors(q, recognizer.transcribe(apply(synthesize(q, voice), i)).text)
                      for i, q in enumerate(QUESTIONS)]
            stat = wer_stat("word_error_rate", errors)
            rows.append({"voice": voice, "condition": condition, "wer": stat.value, "ci_low": stat.ci_low,
                         "ci_high": stat.ci_high, "n": stat.n})
            print(f"{voice:<16}{condition:<14}{stat.value:.3f} [{stat.ci_low:.3f}, {stat.ci_high:.3f}]", flush=True)
    return rows


def throughput(instances: int, data: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TONY_CACHE_DIR=str(Path(tmp) / "cache"))
        cache = Path(os.environ.get("TONY_CACHE_DIR") or Path.home() / ".cache" / "tony")
        (Path(tmp) / "cache").mkdir()
        for name in cache.glob("whisper-base*"):  # the assembled model, not the transcripts
            (Path(tmp) / "cache" / name.name).symlink_to(name)
        entry = f"openbookqa:model=smollm2-135m-instruct,max_instances={instances},perturbations=speech"
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tony.cli", "run", entry, "--store", str(Path(tmp) / "store"),
                        "--data", data], check=True, env=env)
        wall = time.perf_counter() - start
    return {"entry": entry, "instances": instances, "wall_s": wall, "instances_per_minute": 60 * instances / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--throughput-instances", type=int, default=100)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = parser.parse_args()
    out = {"load_before": os.getloadavg(), "wer": word_error_rates()}
    if args.throughput_instances:
        out["throughput"] = throughput(args.throughput_instances, args.data)
        print(out["throughput"])
    out["load_after"] = os.getloadavg()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
