"""Claim: the word error rate of Whisper base on espeak-ng speech, per voice, clean and at 10 dB SNR (white and
babble noise), plus over a telephone line. (The speech channel's throughput is benchmarks/voice_throughput.py.)

WER: the 30 latency questions of tony.voice.latency (written for tony) spoken by each standard voice, corpus WER
with a bootstrap interval over sentences.

    .venv/bin/python benchmarks/voice_wer.py

Writes benchmarks/results/voice_wer.json.
"""

from __future__ import annotations

import argparse
import json
import os
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


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    out = {"load_before": os.getloadavg(), "wer": word_error_rates()}
    out["load_after"] = os.getloadavg()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
