"""Audio as tony.voice handles it: mono float32 samples in [-1, 1] at 16 kHz (what Whisper takes), and the
channel conditions applied to them: noise at a signal-to-noise ratio (white, or babble of several espeak-ng
talkers) and a telephone line (300-3400 Hz band-pass and 8 kHz sampling, through sox).

The SNR is over the whole clip: 10 log10(mean(speech^2) / mean(noise^2)), the noise scaled to give it exactly.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np

from tony.core.errors import DataError, ModelError

SAMPLE_RATE = 16_000
"""Samples per second of every clip tony.voice passes around."""
TELEPHONE_RATE = 8_000
"""A telephone line's sampling rate."""
TELEPHONE_BAND = (300, 3400)
"""A telephone line's pass band, Hz."""

NoiseKind = Literal["white", "babble"]
NOISE_KINDS: tuple[NoiseKind, ...] = ("white", "babble")

BABBLE_TALKERS = 4
"""Talkers summed into babble noise."""
BABBLE_SENTENCES = (
    "The committee will meet again on Thursday to review the budget for next year.",
    "I left my umbrella on the train this morning and nobody had handed it in.",
    "Turn left at the bakery, then keep going until you see the old church.",
    "She said the concert was sold out weeks ago, so we watched it at home.",
    "Could you pass me the salt and the pepper, and maybe some more bread as well?",
    "The weather report says rain in the afternoon, clearing later in the evening.",
)
"""What the babble talkers say (cycled over the talkers, each from a random offset)."""


def pcm16(samples: np.ndarray) -> bytes:
    """16-bit little-endian PCM of float samples (clipped to [-1, 1])."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


def from_pcm16(data: bytes) -> np.ndarray:
    """Float samples of 16-bit little-endian PCM."""
    return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0


def wav_bytes(samples: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """A mono 16-bit WAV file of the samples."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm16(samples))
    return buffer.getvalue()


def write_wav(path: str | Path, samples: np.ndarray) -> None:
    Path(path).write_bytes(wav_bytes(samples))


def read_wav(source: str | Path | bytes, what: str = "") -> np.ndarray:
    """Samples at 16 kHz mono of a WAV file (a path or its bytes); other rates, channel counts and sample sizes are
    converted by sox. A DataError (one line) when it is not a readable WAV file."""
    name = what or (str(source) if not isinstance(source, bytes) else "the audio")
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        with wave.open(io.BytesIO(data), "rb") as clip:
            rate, channels, width = clip.getframerate(), clip.getnchannels(), clip.getsampwidth()
            frames = clip.readframes(clip.getnframes())
    except (OSError, EOFError, wave.Error) as err:
        reason = err or type(err).__name__
        raise DataError(f"cannot read {name} as a WAV file ({reason}); give a PCM .wav file") from None
    if (rate, channels, width) == (SAMPLE_RATE, 1, 2):
        return from_pcm16(frames)
    return from_pcm16(sox(data, "wav", ["rate", str(SAMPLE_RATE)]))


def sox(data: bytes, input_type: str, effects: list[str], *, rate: int = SAMPLE_RATE, out_rate: int | None = None,
        ) -> bytes:
    """`data` through sox's `effects`, out as raw 16-bit mono PCM at `out_rate` (default `rate`). `input_type` is
    "wav" (the header says the format) or "raw" (16-bit mono PCM at `rate`)."""
    if shutil.which("sox") is None:
        raise ModelError("sox is not installed: run `make install` (apt-get install sox)")
    source = ["-t", "wav"] if input_type == "wav" else ["-t", "raw", "-r", str(rate), "-e", "signed", "-b", "16",
                                                        "-c", "1"]
    target = ["-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-r", str(out_rate or rate)]
    done = subprocess.run(["sox", "-q", "-V1", "-D", *source, "-", *target, "-", *effects], input=data,
                          capture_output=True, check=False)
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        raise DataError(f"sox could not convert the audio ({reason[-1] if reason else done.returncode}); "
                        "give a PCM .wav file")
    return done.stdout


def resample(samples: np.ndarray, rate: int, out_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The samples at another rate (sox's high-quality resampler)."""
    if rate == out_rate or not len(samples):
        return samples
    return from_pcm16(sox(pcm16(samples), "raw", ["rate", str(out_rate)], rate=rate, out_rate=out_rate))


def telephone(samples: np.ndarray) -> np.ndarray:
    """The clip as a telephone line carries it: band-passed to 300-3400 Hz and sampled at 8 kHz, then brought back
    to 16 kHz (what the recognizer takes; the lost band stays lost)."""
    low, high = TELEPHONE_BAND
    narrow = sox(pcm16(samples), "raw", ["sinc", f"{low}-{high}", "rate", str(TELEPHONE_RATE)],
                 out_rate=TELEPHONE_RATE)
    return resample(from_pcm16(narrow), TELEPHONE_RATE)


def power(samples: np.ndarray) -> float:
    """Mean square of the samples."""
    return float(np.mean(np.square(samples, dtype=np.float64))) if len(samples) else 0.0


def snr_db(signal: np.ndarray, noise: np.ndarray) -> float:
    """10 log10(power(signal) / power(noise))."""
    return float(10.0 * np.log10(power(signal) / power(noise)))


def add_noise(samples: np.ndarray, snr: float, kind: NoiseKind = "white", seed: int = 0) -> np.ndarray:
    """The clip with `kind` noise added at `snr` dB (over the whole clip); seeded, so the same call gives the same
    noise."""
    if kind not in NOISE_KINDS:
        raise DataError(f"unknown noise {kind!r}: choose one of {', '.join(NOISE_KINDS)}")
    if not len(samples) or power(samples) == 0.0:
        raise DataError("cannot add noise at an SNR to a silent clip; give speech")
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(len(samples)) if kind == "white" else babble(len(samples), rng)
    scale = np.sqrt(power(samples) / (power(noise) * 10.0 ** (snr / 10.0)))
    return (samples + scale * noise).astype(np.float32)


def babble(length: int, rng: np.random.Generator) -> np.ndarray:
    """`length` samples of babble: BABBLE_TALKERS espeak-ng voices speaking at once, each looped from a random
    offset."""
    total = np.zeros(length, dtype=np.float64)
    for talker in range(BABBLE_TALKERS):
        speech = _talker(talker)
        looped = np.resize(np.roll(speech, int(rng.integers(len(speech)))), length)
        total += looped / np.sqrt(power(looped))
    return total


@cache
def _talker(talker: int) -> np.ndarray:
    """What babble talker number `talker` says (synthesized once per process)."""
    from tony.voice.tts import STANDARD_VOICES, synthesize

    voice = STANDARD_VOICES[talker % len(STANDARD_VOICES)]
    return synthesize(BABBLE_SENTENCES[talker % len(BABBLE_SENTENCES)], voice=voice)
