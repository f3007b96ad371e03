"""Driving the real `tony` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CAPITALS = REPO / "configs" / "data" / "world_capitals.jsonl"


def tony(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, check: bool = False,
         timeout: float = 900) -> subprocess.CompletedProcess:
    """Run `python -m tony.cli ARGS`; returns the completed process (text output)."""
    full_env = {**os.environ, "TONY_PROGRESS": "0", **(env or {})}
    done = subprocess.run([sys.executable, "-m", "tony.cli", *args], cwd=cwd or REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"tony {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done
