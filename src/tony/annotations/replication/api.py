"""The replication study from Python; `tony annotations replication` is a thin layer over these functions.

    from tony.annotations.replication import api
    files = api.simulate_files("example", api.SimulationSpec(models=5))
    result = api.run(api.study_spec(files.annotations, files.predictions))
    print(api.table(result.stats)["model-1"]["gap_jackknife"])
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from tony.annotations.replication.simulate import SimulationSpec, simulate
from tony.annotations.replication.study import ReplicationSpec
from tony.core.errors import DataError, SpecError
from tony.core.runner import RunResult, execute
from tony.core.stats import Stat
from tony.core.store import Store

__all__ = ["SimulationSpec", "SimulatedFiles", "run", "simulate_files", "study_spec", "table"]


@dataclass(frozen=True)
class SimulatedFiles:
    """What `simulate_files` wrote."""

    annotations: Path
    predictions: Path
    truth: Path
    """JSON: the simulation spec and, per model, the true original accuracy, A and gap."""


def simulate_files(directory: str | Path, spec: SimulationSpec) -> SimulatedFiles:
    """Simulate a replication study and write its input files (and the truth) into `directory`."""
    from tony.annotations.replication.io import write_study

    sim = simulate(spec)
    try:
        annotations, predictions = write_study(directory, sim.data, sim.image_ids, sim.classes)
        truth = Path(directory) / "truth.json"
        truth.write_text(json.dumps({"spec": spec.model_dump(mode="json"), "missing": sim.missing,
                                     "models": sim.truth()}, indent=1), encoding="utf-8")
    except OSError as err:
        raise DataError(f"cannot write the example files into {directory}: {err.strerror or err}") from None
    return SimulatedFiles(annotations, predictions, truth)


def study_spec(annotations: str | Path, predictions: str | Path, *, annotators: int | None = None,
               delete: int | None = None, components: int = 3, knots: int = 6, resamples: int = 200,
               seed: int = 0) -> ReplicationSpec:
    """A spec for two files, checked now (a bad file fails here, naming its line). `annotators` defaults to
    the fewest any image has, `delete` to half of `annotators`."""
    from tony.annotations.replication.estimators import default_delete
    from tony.annotations.replication.io import read_study

    data = read_study(annotations, predictions)
    smallest = int(min(data.original.n.min(), data.replicated.n.min()))
    annotators = smallest if annotators is None else annotators
    if annotators < 2:
        raise DataError(f"{annotations}: some image has a single annotator; the jackknife needs at least 2 "
                        "per image (drop such images)")
    if annotators > smallest:
        raise SpecError(f"--annotators {annotators} exceeds the fewest annotators of any image ({smallest})")
    digest = hashlib.sha256()
    for path in (annotations, predictions):
        digest.update(Path(path).read_bytes())
    return ReplicationSpec.parse({
        "annotations": str(Path(annotations).resolve()), "predictions": str(Path(predictions).resolve()),
        "content": digest.hexdigest(), "annotators": annotators,
        "delete": default_delete(annotators) if delete is None else delete, "components": components,
        "knots": knots, "resamples": resamples, "seed": seed})


def run(spec: ReplicationSpec, store: str | None = None) -> RunResult:
    """Run (or find already stored) the study; a failure is raised, not returned."""
    opened = Store(store)
    result = execute(spec.task(opened), opened, batch_size=16)
    if result.status != "complete":
        raise DataError(f"replication study failed: {result.error}")
    return result


def table(stats: list[Stat]) -> dict[str, dict[str, Stat]]:
    """Per-model stats: model -> stat name -> Stat (the models in stored order)."""
    out: dict[str, dict[str, Stat]] = {}
    for stat in stats:
        if stat.split:
            out.setdefault(stat.split, {})[stat.name] = stat
    return out
