"""Running a study's method for every seed and turning the outputs into the runner's records.

Kept apart from `study` (the spec, the task and the stats) so that module imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tony.core.progress import progress_bar
from tony.core.store import Store
from tony.vision.priors.methods import METHODS, Context, Trajectories
from tony.vision.priors.settings import make_setting
from tony.vision.priors.study import CONFLICT, TEST, PriorsStudySpec


@dataclass(frozen=True)
class StudyResults:
    """Every seed's trajectories, with the test and cue-conflict labels they are scored against."""

    test_labels: np.ndarray
    test_cues: np.ndarray
    conflict_labels: np.ndarray | None
    conflict_cues: np.ndarray | None
    seeds: list[Trajectories]

    def record(self, item: str) -> dict[str, Any]:
        """The record of one item (see `study`'s module docstring)."""
        kind, _, rest = item.partition("-")
        if kind == TEST:
            row = int(rest)
            return {"set": TEST, "label": int(self.test_labels[row]), "cue": int(self.test_cues[row]),
                    "predictions": {model: [[int(o.test[row].argmax()) for o in trajectories[model]]
                                            for trajectories in self.seeds] for model in self.seeds[0]}}
        if kind == CONFLICT:
            assert self.conflict_labels is not None and self.conflict_cues is not None
            row = int(rest)
            return {"set": CONFLICT, "label": int(self.conflict_labels[row]), "cue": int(self.conflict_cues[row]),
                    "predictions": {model: [int(trajectories[model][-1].conflict[row].argmax())  # type: ignore[index]
                                            for trajectories in self.seeds] for model in self.seeds[0]}}
        model, _, round_ = rest.rpartition("-")
        outputs = [trajectories[model][int(round_)] for trajectories in self.seeds]
        return {"set": "round", "model": model, "round": int(round_),
                "pseudo": [list(o.pseudo) for o in outputs if o.pseudo is not None]}


def study_results(spec: PriorsStudySpec, store: Store) -> StudyResults:
    """Run `spec.method` for every seed (models trained, or loaded from the store)."""
    from tony.vision.priors.cue_conflict import cue_conflict_set

    conflict = cue_conflict_set(spec.setting) if spec.setting.dataset == "world" else None
    seeds: list[Trajectories] = []
    test = None
    with progress_bar(spec.seeds, f"priors {spec.describe()}", unit="seed") as bar:
        for seed in range(spec.seeds):
            data = make_setting(spec.setting, seed)
            test = data.test
            seeds.append(METHODS[spec.method](Context(spec, data, conflict, store, seed)))
            bar.update(1)
    assert test is not None
    return StudyResults(test.labels.numpy(), np.asarray(test.attributes["cue"]),
                        None if conflict is None else conflict.labels.numpy(),
                        None if conflict is None else np.asarray(conflict.attributes["cue"]), seeds)
