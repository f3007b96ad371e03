"""The data shelf (../shared/data beside the repository) for tests that read real public data sets.

Where the shelf or a file is absent the test skips with the reason; with TONY_REQUIRE_DATA set (as
.ci/run sets it, since CI always has the shelf) it fails instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHELF = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
REQUIRE_DATA = "TONY_REQUIRE_DATA"


def shelf_path(relative: str) -> Path:
    """SHELF / relative, or skip (fail under TONY_REQUIRE_DATA) when it is not there."""
    path = SHELF / relative
    if not path.exists():
        message = f"the data shelf has no {relative} (looked in {SHELF})"
        if os.environ.get(REQUIRE_DATA):
            pytest.fail(f"{message}; {REQUIRE_DATA} is set", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture
def shelf_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shelf as tony's data root (TONY_DATA), skipping where it is absent."""
    root = shelf_path(".")
    monkeypatch.setenv("TONY_DATA", str(root))
    return root
