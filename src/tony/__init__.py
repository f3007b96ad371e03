"""tony: a workbench for measuring how machine-learning models really behave.

The public API (imported lazily so that `import tony` stays fast):
`plan`, `run`, `results`, `records`, `datasets`, `compare`, `doctor`, `Store`, `Stat`, `TonyError`, `registry`.
`run`, `results`, `datasets` and `doctor` serve every domain (`tony.api`); `plan`, `records` and `compare` are the
language-model study's (`tony.lm.api`).
"""

from __future__ import annotations

__version__ = "0.1.0"

_EXPORTS = {
    "plan": "tony.lm.api",
    "run": "tony.api",
    "results": "tony.api",
    "records": "tony.lm.api",
    "datasets": "tony.api",
    "compare": "tony.lm.api",
    "doctor": "tony.api",
    "Store": "tony.core.store",
    "Stat": "tony.core.stats",
    "TonyError": "tony.core.errors",
    "registry": "tony.core.registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tony' has no attribute {name!r}")
