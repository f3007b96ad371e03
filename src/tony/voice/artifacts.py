"""Spoken audio kept in the results store: each speech-channel record's spoken prompt and each spoken answer of a
model that speaks, as content-hashed artifacts.

The speech channel speaks a prompt, and the `openai_audio` model receives a spoken answer, into tony's cache
folder (tony.voice.spoken), named by its SHA-256: the record names the prompt in `instance.extra["speech"]
["audio"]` and an answer in its completion's `audio`. The cache is this machine's and may be cleared; the store
is what a run keeps, so the WAV goes there too, under the name ``spoken/<sha256>`` with the run's id. The
artifact's key is the same SHA-256, so the record's hash names the artifact as well as the cached file; the
site's drill-down plays it from there (tony.lm.report.instances).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from tony.core.store import Store
from tony.voice.spoken import audio_bytes, audio_path

ARTIFACT = "spoken/{digest}"
"""The artifact name of spoken audio (a prompt or an answer)."""
_SHA256 = re.compile(r"[0-9a-f]{64}")
log = logging.getLogger(__name__)


def _once(digests: Iterable[Any]) -> list[str]:
    """The well-formed hashes among `digests`, once each, in order."""
    return list(dict.fromkeys(d for d in digests if isinstance(d, str) and _SHA256.fullmatch(d)))


def spoken_digests(records: Iterable[dict[str, Any]]) -> list[str]:
    """The SHA-256 of each spoken prompt the stored records (JSON payloads) name, once each, in order."""
    speeches = ((record.get("instance") or {}).get("extra", {}).get("speech") for record in records)
    return _once(speech.get("audio") for speech in speeches if isinstance(speech, dict))


def answer_digests(records: Iterable[dict[str, Any]]) -> list[str]:
    """The SHA-256 of each spoken answer the stored records' completions name, once each, in order."""
    return _once((exchange.get("completion") or {}).get("audio") for record in records
                 for exchange in record.get("exchanges") or ())


def keep_spoken_audio(store: Store, run_id: str, records: Iterable[dict[str, Any]]) -> list[str]:
    """Put the spoken prompt of each record into `store` as an artifact of run `run_id` (stored once, whatever
    how many records or runs name it); the keys, which are the records' hashes."""
    # audio_bytes checks the file against its name, and the store keys by the same hash, so key == digest.
    return [store.put_artifact(ARTIFACT.format(digest=digest), audio_bytes(digest), run_id=run_id)
            for digest in spoken_digests(records)]


def keep_spoken_answers(store: Store, run_id: str, records: Iterable[dict[str, Any]]) -> list[str]:
    """Put each spoken answer the records name into `store` as an artifact of run `run_id`; the keys kept.

    An answer is not spoken again on a rerun (the request cache answers it), so one whose file is neither in the
    store nor in this machine's cache (cleared since) is left out with a warning: its record keeps the transcript,
    and the drill-down shows no player for it."""
    kept, gone = [], []
    for digest in answer_digests(records):
        if store.artifact_path(digest).is_file():
            kept.append(digest)
        elif audio_path(digest).is_file():
            kept.append(store.put_artifact(ARTIFACT.format(digest=digest), audio_bytes(digest), run_id=run_id))
        else:
            gone.append(digest)
    if gone:
        log.warning("%d spoken answers of run %s are no longer in %s (cleared since they were cached): their "
                    "transcripts are kept, their audio is not", len(gone), run_id, audio_path(gone[0]).parent.parent)
    return kept
