"""Files tony keeps for itself: where its cache folder is, and the digests of large files, each computed once."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

DIGESTS_FILE = "digests.json"
"""The cache folder's memo of file digests: "resolved path|size|mtime_ns" -> SHA-256."""


def cache_dir() -> Path:
    """tony's cache folder: $TONY_CACHE_DIR when set (and not empty), else ~/.cache/tony; not created here."""
    return Path(os.environ.get("TONY_CACHE_DIR") or Path.home() / ".cache" / "tony").expanduser()


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (e.g. model weights), remembered by (path, size, mtime) in the cache folder so
    each version of a file is read once."""
    stat = path.stat()
    memo = cache_dir() / DIGESTS_FILE
    entry = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    known = json.loads(memo.read_text()) if memo.exists() else {}
    if entry not in known:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        known[entry] = digest.hexdigest()
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_suffix(f".{os.getpid()}.tmp")  # written whole, then renamed: a reader never sees half
        tmp.write_text(json.dumps(known))
        tmp.replace(memo)
    return known[entry]
