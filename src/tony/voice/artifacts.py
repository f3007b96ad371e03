"""Spoken prompts kept in the results store: each speech-channel record's WAV as a content-hashed artifact.

The speech channel speaks a prompt into tony's cache folder (tony.voice.spoken) and names it by its SHA-256 in the
record's `instance.extra["speech"]["audio"]`. The cache is this machine's and may be cleared; the store is what a
run keeps, so the WAV goes there too, under the name ``spoken/<sha256>`` with the run's id. The artifact's key is
the same SHA-256, so the record's hash names the artifact as well as the cached file; the site's drill-down plays
it from there (tony.lm.report.instances).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tony.core.store import Store
from tony.voice.spoken import audio_bytes

ARTIFACT = "spoken/{digest}"
"""The artifact name of a spoken prompt."""
_SHA256 = re.compile(r"[0-9a-f]{64}")


def spoken_digests(records: Iterable[dict[str, Any]]) -> list[str]:
    """The SHA-256 of each spoken prompt the stored records (JSON payloads) name, once each, in order."""
    found: dict[str, None] = {}
    for record in records:
        speech = (record.get("instance") or {}).get("extra", {}).get("speech")
        digest = speech.get("audio") if isinstance(speech, dict) else None
        if isinstance(digest, str) and _SHA256.fullmatch(digest):
            found[digest] = None
    return list(found)


def keep_spoken_audio(store: Store, run_id: str, records: Iterable[dict[str, Any]]) -> list[str]:
    """Put the spoken prompt of each record into `store` as an artifact of run `run_id` (stored once, whatever
    how many records or runs name it); the keys, which are the records' hashes."""
    # audio_bytes checks the file against its name, and the store keys by the same hash, so key == digest.
    return [store.put_artifact(ARTIFACT.format(digest=digest), audio_bytes(digest), run_id=run_id)
            for digest in spoken_digests(records)]
