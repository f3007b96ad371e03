"""tests/rl needs the rl extra (gymnasium with MuJoCo)."""

from __future__ import annotations

import pytest

pytest.importorskip("gymnasium")
pytest.importorskip("mujoco")
