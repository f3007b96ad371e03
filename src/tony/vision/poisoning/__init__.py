"""Dataset security: poisoning and backdoor attacks, defenses, and the survey's threat model.

`threat` is the threat model as a spec; `attacks/` holds one module per attack (label_flip, badnets, blended,
clean_label, feature_collision, gradient_matching) and `defenses/` one per defense (spectral,
activation_clustering, strip, fine_pruning, finetune), all registered in `tony.catalog`; `metrics` computes C-Acc,
ASR, R-Acc, targeted success, filter rates and DER; `spec`, `data`, `victims` and `study` are the study; `grid`
makes grids and summaries over seeds; `cli` is `tony poison`; `report` its site page.

The names below are imported on first use, so that `tony --help` imports no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ThreatModel": "tony.vision.poisoning.threat",
    "PoisonStudySpec": "tony.vision.poisoning.spec",
    "PoisonData": "tony.vision.poisoning.spec",
    "run_study": "tony.vision.poisoning.study",
    "grid_specs": "tony.vision.poisoning.grid",
    "suite_specs": "tony.vision.poisoning.grid",
    "summarize": "tony.vision.poisoning.grid",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tony.vision.poisoning' has no attribute {name!r}")
