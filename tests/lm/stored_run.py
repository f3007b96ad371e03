"""Run one LM spec for real on a fresh SQLite store under a test's folder and read back its records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tony.api import run
from tony.core.runner import RunResult
from tony.core.store import Store
from tony.lm.run import LMRunSpec


def stored_records(spec: LMRunSpec, folder: Path) -> tuple[RunResult, list[dict[str, Any]]]:
    """`spec`'s run, which must complete, and its records."""
    store_url = f"sqlite:///{folder / 'tony.sqlite'}"
    (result,) = list(run([spec], store_url))
    assert result.status == "complete", result.error
    store = Store(store_url)
    try:
        return result, store.records(result.run_id)
    finally:
        store.close()
