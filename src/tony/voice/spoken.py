"""Spoken prompts as content-hashed audio, and the marker that puts one into a prompt's text.

A speech-channel variant meant for a native audio model (`SpeechChannel(sent_as="audio")`) keeps its spoken
question as a WAV file named by its SHA-256 in tony's cache folder (`voice-audio/`), and its input becomes the
marker `<|tony_audio:SHA256|>`. The adapters put that text into the prompt like any other input, so the request's
prompt (and with it the request cache's key) names the exact audio sent; the `openai_audio` client cuts the prompt
at the marker and sends the audio there as an `input_audio` part. Synthesis is deterministic (espeak-ng, sox
without dither, seeded noise), so a resumed run or another machine makes the same file under the same name.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path

import numpy as np

from tony.core.errors import DataError
from tony.core.files import cache_dir
from tony.voice.audio import read_wav, wav_bytes

FOLDER = "voice-audio"
MARKER = re.compile(r"<\|tony_audio:([0-9a-f]{64})\|>")
"""Where a prompt holds spoken audio: the WAV file's SHA-256."""


def audio_path(digest: str) -> Path:
    return cache_dir() / FOLDER / digest[:2] / f"{digest}.wav"


def store_audio(samples: np.ndarray) -> str:
    """Keep `samples` (16 kHz) as a WAV file named by its SHA-256 (written whole, then renamed); return the hash."""
    data = wav_bytes(samples)
    digest = hashlib.sha256(data).hexdigest()
    path = audio_path(digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{digest}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return digest


def load_audio(digest: str) -> np.ndarray:
    """The samples stored under `digest`; a DataError where the file is missing or not what its name says."""
    return read_wav(audio_bytes(digest), what=str(audio_path(digest)))


def audio_bytes(digest: str) -> bytes:
    """The WAV file stored under `digest`; a DataError where it is missing or not what its name says."""
    path = audio_path(digest)
    if not path.is_file():
        raise DataError(f"spoken prompt {digest[:12]} is not in {path.parent.parent}; rerun the run, which speaks "
                        "its prompts again")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise DataError(f"spoken prompt {path} does not match its hash; delete it and rerun the run")
    return data


def marker(digest: str) -> str:
    """The text that stands for the audio `digest` in a prompt."""
    return f"<|tony_audio:{digest}|>"


def split_marked(text: str) -> list[tuple[str, str]]:
    """`text` cut at its audio markers, in order: ("text", the text between) and ("audio", the hash) parts;
    blank text between markers is left out."""
    parts: list[tuple[str, str]] = []
    at = 0
    for found in MARKER.finditer(text):
        if text[at:found.start()].strip():
            parts.append(("text", text[at:found.start()]))
        parts.append(("audio", found.group(1)))
        at = found.end()
    if text[at:].strip():
        parts.append(("text", text[at:]))
    return parts
