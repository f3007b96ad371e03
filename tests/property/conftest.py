"""Hypothesis profiles for the property tests, chosen by HYPOTHESIS_PROFILE.

- `ci` (the default): few examples, derandomized (the same inputs on every run), so the whole folder runs in
  well under two minutes and a failure reproduces.
- `nightly`: many random examples (a new draw each run), for a scheduled job:
  `HYPOTHESIS_PROFILE=nightly .venv/bin/pytest tests/property`.

Each test keeps its examples cheap; a test whose examples are costly (the embedded model, files) takes a share
of the profile's `max_examples` through `property_helpers.scaled`, so the nightly profile raises it too.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE_ENV = "HYPOTHESIS_PROFILE"
COMMON = {"deadline": None, "print_blob": True, "suppress_health_check": [HealthCheck.too_slow]}

settings.register_profile("ci", max_examples=40, derandomize=True, **COMMON)
settings.register_profile("nightly", max_examples=1000, **COMMON)
settings.load_profile(os.environ.get(PROFILE_ENV, "ci"))

